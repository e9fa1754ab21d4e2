"""Setting an incident's milestones by picking the timeline entries that mark them."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from incidents.milestones import MILESTONES, milestones_set, suggested_entry
from incidents.policy import can_edit, visible_incidents
from postmortems.document import incident_number

KEEP, CLEAR = "", "clear"


class MilestonesForm(forms.Form):
    def __init__(self, *args, incident, timeline, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = {str(entry.pk): entry for entry in timeline}
        for milestone in MILESTONES:
            current = getattr(incident, f"{milestone.key}_at")
            keep = f"Keep as it is ({current:%Y-%m-%d %H:%M})" if current else "Keep as not set"
            choices = [(KEEP, keep), (CLEAR, "Not reached or not known")]
            choices += [
                (pk, f"{e.occurred_at:%Y-%m-%d %H:%M} · {e.get_kind_display()} · {e.text[:60]}")
                for pk, e in self.entries.items()
            ]
            suggestion = suggested_entry(milestone, timeline)
            help_text = ""
            if suggestion and not current:
                help_text = f"Suggested: the first {suggestion.get_kind_display().lower()} entry."
            self.fields[milestone.key] = forms.ChoiceField(
                label=milestone.label,
                choices=choices,
                required=False,
                help_text=help_text,
                initial=str(suggestion.pk) if suggestion and not current else KEEP,
            )

    def picks(self) -> dict:
        picks = {}
        for key, value in self.cleaned_data.items():
            if value == CLEAR:
                picks[key] = None
            elif value:
                picks[key] = self.entries[value]
        return picks


@require_http_methods(["GET", "POST"])
def milestones(request, ref: str):
    incident = (
        visible_incidents(request.user)
        .select_related("severity")
        .filter(number=incident_number(ref))
        .first()
    )
    if incident is None:
        raise Http404("No incident with that reference")
    if not can_edit(request.user, incident):
        raise PermissionDenied("You may read this incident but not change it.")
    timeline = list(incident.timeline.all())
    form = MilestonesForm(request.POST or None, incident=incident, timeline=timeline)
    if request.method == "POST" and form.is_valid():
        try:
            milestones_set(incident=incident, picks=form.picks(), user=request.user)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                key = field.removesuffix("_at")
                form.add_error(key if key in form.fields else None, messages)
        else:
            return redirect(incident)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "postmortems/milestones.html",
        {"incident": incident, "form": form, "timeline": timeline},
        status=status,
    )
