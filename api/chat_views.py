"""Importing a chat into an incident's timeline: paste or upload, preview, tick, add."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from api.chat import chat_lines_import, imported_keys
from incidents import policy
from incidents.chat_import import ChatFormatError, parse_chat
from incidents.models import Incident
from postmortems.document import incident_for

PAGE = "api/chat_import.html"
MAX_UPLOAD = 2 * 1024 * 1024
ZONES = sorted(zoneinfo.available_timezones())


class ChatImportForm(forms.Form):
    chat = forms.CharField(
        label="Chat to import",
        required=False,
        max_length=MAX_UPLOAD,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="Paste a thread copied from Slack or Teams, a transcript with a time on each "
        "message (“14:02 Priya: restarted the pool”), or one day's file of a Slack export.",
    )
    export_file = forms.FileField(label="Or upload a Slack export file (.json)", required=False)
    time_zone = forms.CharField(
        label="Time zone of the times in the chat",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text="Slack export files carry their own times; this only shows them.",
    )
    day = forms.DateField(
        label="Day the chat starts on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="For times without a date; a chat past midnight moves on to the next day.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError("Pick a time zone from the list, such as Europe/Berlin.")
        return zoneinfo.ZoneInfo(name)

    def clean_day(self):
        day = self.cleaned_data["day"]
        if not 1970 <= day.year <= 2999:
            raise forms.ValidationError("Pick a day between 1970 and 2999.")
        return day

    def clean(self):
        data = super().clean()
        upload = data.get("export_file")
        if upload:
            if upload.size > MAX_UPLOAD:
                raise forms.ValidationError("The file is larger than 2 MB; upload one day's file.")
            try:
                data["chat"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not text (UTF-8).") from None
        if not (data.get("chat") or "").strip() and not self.errors:
            raise forms.ValidationError("Paste a chat or upload an export file.")
        return data


def _editable(request, ref: str) -> Incident:
    incident = incident_for(request.user, ref)
    if not policy.can_edit(request.user, incident):
        raise PermissionDenied("You may read this incident but not add to its timeline.")
    return incident


@require_http_methods(["GET", "POST"])
def chat_import(request, ref: str):
    """GET: the form. POST "preview": the lines to tick. POST "import": add the ticked ones."""
    incident = _editable(request, ref)
    zone_name = request.POST.get("time_zone") or settings.TIME_ZONE
    initial = {
        "time_zone": zone_name,
        "day": incident.started_at.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date(),
    }
    form = ChatImportForm(request.POST or None, request.FILES or None, initial=initial)
    context = {"incident": incident, "form": form, "zones": ZONES}
    if request.method == "GET":
        return render(request, PAGE, context)
    if not form.is_valid():
        return render(request, PAGE, context, status=422)
    zone, day = form.cleaned_data["time_zone"], form.cleaned_data["day"]
    try:
        lines = parse_chat(form.cleaned_data["chat"], zone=zone, day=day)
    except ChatFormatError as error:
        form.add_error("chat", str(error))
        return render(request, PAGE, context, status=422)
    done = imported_keys(incident, lines)
    if request.POST.get("step") == "import":
        chosen = set(request.POST.getlist("line"))
        picked = [line for line in lines if line.key in chosen and line.key not in done]
        added = chat_lines_import(incident=incident, lines=picked, user=request.user)
        skipped = len(chosen) - added
        note = f"Added {added} message{'s' if added != 1 else ''} to the timeline."
        if skipped > 0:
            note += f" {skipped} were there already."
        messages.success(request, note)
        return redirect(incident)
    rows = [
        {
            "line": line,
            "imported": line.key in done,
            "checked": not line.noise and line.key not in done,
        }
        for line in lines
    ]
    context.update(
        rows=rows,
        raw=form.cleaned_data["chat"],
        zone=zone.key,
        day=day,
        chosen=sum(row["checked"] for row in rows),
    )
    return render(request, PAGE, context)
