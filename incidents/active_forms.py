"""Forms of the active incident view. Times are typed in 24-hour ISO order, in the viewer's
time zone; an empty time means "now", the usual answer while an incident is going on."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.forms import PersonChoiceField
from incidents.models import StatusUpdate, TimelineEntry
from incidents.response import MILESTONES, ROLES

User = get_user_model()

_MOMENT = re.compile(
    r"^(?:(?P<date>\d{4}-\d{2}-\d{2})[T ])?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$"
)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class MomentInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__(
            attrs={
                "autocomplete": "off",
                "inputmode": "numeric",
                "spellcheck": "false",
                "placeholder": "now",
                **(attrs or {}),
            }
        )


class MomentField(forms.Field):
    """A moment typed as "2026-12-02 14:03:22" or just "14:03" (today), in the viewer's zone."""

    widget = MomentInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> datetime | None:
        value = (value or "").strip() if isinstance(value, str) else ""
        if not value:
            return None
        match = _MOMENT.fullmatch(value) if len(value) <= 25 else None
        if not match:
            raise forms.ValidationError(
                "Write the time as 14:03, 14:03:22 or 2026-12-02 14:03:22 (24-hour clock)."
            )
        try:
            day = date.fromisoformat(match["date"]) if match["date"] else timezone.localdate()
            clock = time(int(match["h"]), int(match["m"]), int(match["s"] or 0))
        except ValueError:
            raise forms.ValidationError("That is not a real date and time.") from None
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Pick a year between {EARLIEST_YEAR} and {LATEST_YEAR}."
            ) from None
        return timezone.make_aware(datetime.combine(day, clock))


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
    occurred_at = MomentField(label="At")

    def clean_text(self) -> str:
        text = _no_control_characters(self.cleaned_data["text"]).replace("\r", " ")
        return text.replace("\n", " ").strip()


class MilestoneForm(forms.Form):
    milestone = forms.ChoiceField(choices=[(name, name) for name in MILESTONES])
    at = MomentField(label="At")
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
    next_update_at = MomentField(label="Next update by")

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
