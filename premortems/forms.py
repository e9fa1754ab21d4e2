from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.forms import PeopleChoiceField
from incidents.models import Team
from kernel.widgets import IsoDateField
from premortems.models import MAX_REASON_LENGTH, Premortem
from premortems.rounds import MAX_EXTRA_MINUTES

User = get_user_model()

# A planned change further out than this, or long past, is a slip of the keyboard.
PLANNED_WITHIN_DAYS = 5 * 366


def one_line(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise forms.ValidationError(f"Keep the {what} on one line.")
    return value


class Unsuffixed:
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class PremortemForm(Unsuffixed, forms.ModelForm):
    planned_for = IsoDateField(label="Planned date")
    participants = PeopleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text="You take part as the facilitator. Anyone who may see it can join later.",
    )

    class Meta:
        model = Premortem
        fields = [
            "title",
            "description",
            "planned_for",
            "team",
            "private",
            "participants",
            "writing_minutes",
            "votes_per_person",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        labels = {"title": "Planned change", "votes_per_person": "Votes per person"}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        if user is not None and not self.is_bound:
            team = user.teams.order_by("name").first()
            if team is not None:
                self.initial.setdefault("team", team.pk)
        self.fields["writing_minutes"].widget.attrs.update(min=1, max=120)
        self.fields["votes_per_person"].widget.attrs.update(min=1, max=10)

    def clean_title(self):
        return one_line(self.cleaned_data["title"], "planned change")

    def clean_planned_for(self):
        day = self.cleaned_data["planned_for"]
        today = timezone.localdate()
        if (
            not today - timedelta(days=PLANNED_WITHIN_DAYS)
            <= day
            <= today + timedelta(days=PLANNED_WITHIN_DAYS)
        ):
            raise forms.ValidationError("Pick a date within five years of today.")
        return day


class ReasonForm(Unsuffixed, forms.Form):
    text = forms.CharField(
        label="How could this fail?",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Imagine it is a month later and the change went badly. Write one reason "
        "at a time; nobody else sees it until the facilitator reveals them.",
    )


class GroupForm(Unsuffixed, forms.Form):
    title = forms.CharField(label="Name of the group", max_length=200)
    reasons = forms.TypedMultipleChoiceField(coerce=int, choices=(), label="Reasons to group")

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reasons"].choices = [(r.pk, r.pk) for r in reasons]

    def clean_title(self):
        return one_line(self.cleaned_data["title"], "group's name")


class ExtendForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=MAX_EXTRA_MINUTES)


class PhaseForm(forms.Form):
    to = forms.ChoiceField(choices=Premortem.Phase.choices)
