"""Forms of the active incident view. Times are typed in 24-hour ISO order, in the viewer's
time zone; an empty time means "now", the usual answer while an incident is going on."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.forms import IncidentTimeField, PersonChoiceField
from incidents.models import StatusUpdate, TimelineEntry
from incidents.response import MILESTONES, ROLES
from kernel.widgets import IsoDateTimeInput

User = get_user_model()


def moment_field(label: str, *, blank_means_now: bool = True) -> IncidentTimeField:
    """A time of the incident, to the second, typed in ISO order in the viewer's zone.

    A time alone is today; left empty it is the moment the form is sent (the page shows that
    moment ticking in the field, so what "empty" means is in view).
    """
    widget = IsoDateTimeInput(
        seconds=blank_means_now,
        hint="empty means now" if blank_means_now else "",
        attrs={"data-now": "", "placeholder": "now"} if blank_means_now else None,
    )
    return IncidentTimeField(label=label, required=False, time_of_day_is_today=True, widget=widget)


def _no_control_characters(value: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError("The text holds a character that cannot be stored.")
    return value


class QuickCaptureForm(forms.Form):
    text = forms.CharField(
        label="What just happened?",
        max_length=TimelineEntry._meta.get_field("text").max_length,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "placeholder": "Type and press Enter · e.g. mitigated: rolled back 4.2.1",
            }
        ),
    )
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Guess from the first word"), *TimelineEntry.Kind.choices],
    )
    occurred_at = moment_field("At")

    def clean_text(self) -> str:
        text = _no_control_characters(self.cleaned_data["text"]).replace("\r", " ")
        return text.replace("\n", " ").strip()


class MilestoneForm(forms.Form):
    milestone = forms.ChoiceField(choices=[(name, name) for name in MILESTONES])
    at = moment_field("At")
    note = forms.CharField(label="Note", required=False, max_length=500)

    def clean_note(self) -> str:
        return _no_control_characters(self.cleaned_data["note"])


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=list(ROLES.items()))
    person = PersonChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        empty_label="Nobody",
    )


class StatusUpdateForm(forms.ModelForm):
    next_update_at = moment_field("Next update by", blank_means_now=False)

    class Meta:
        model = StatusUpdate
        fields = ["audience", "known", "doing"]
        widgets = {
            "known": forms.Textarea(attrs={"rows": 2}),
            "doing": forms.Textarea(attrs={"rows": 2}),
            "audience": forms.RadioSelect,
        }

    def clean_known(self) -> str:
        return _no_control_characters(self.cleaned_data["known"])

    def clean_doing(self) -> str:
        return _no_control_characters(self.cleaned_data["doing"])

    def clean_next_update_at(self):
        value = self.cleaned_data["next_update_at"]
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The next update must be later than now.")
        return value


class SnoozeForm(forms.Form):
    minutes = forms.TypedChoiceField(
        label="Snooze for",
        coerce=int,
        choices=[(30, "30 minutes"), (60, "1 hour"), (120, "2 hours"), (240, "4 hours")],
        initial=60,
    )
    reason = forms.CharField(label="Why", max_length=200)

    def clean_reason(self) -> str:
        return _no_control_characters(self.cleaned_data["reason"]).strip()
