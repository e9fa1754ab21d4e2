from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from actions.items import ACTION_ITEM_FIELDS
from actions.meetings import check_schedule
from actions.models import (
    ActionItem,
    MeetingAttendee,
    MeetingDecision,
    MeetingDissent,
    NagPreference,
    ReviewMeeting,
    WeeklyReview,
)
from actions.review import QUICK_WINS_FIRST
from incidents.forms import PeopleChoiceField, PersonChoiceField
from incidents.models import Service, Severity, Team
from kernel.forms import VersionedForm
from kernel.text import display_name
from kernel.widgets import IsoDateField, IsoDateTimeField
from postmortems.models import Cause

User = get_user_model()


TEXTAREA = forms.Textarea(attrs={"rows": 2})


class Unsuffixed:
    """Labels without a trailing colon, as on every form in Hindsight."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def active_people():
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


# A re-check further out than this is a typo or a wish; either way nobody would see it again.
RECHECK_MAX_DAYS = 3 * 366


def rate_levels(form) -> None:
    """Impact and effort read "Not rated" until someone rates them."""
    for name in ("impact", "effort"):
        if name in form.fields:
            form.fields[name].choices = [("", "Not rated"), *ActionItem.Level.choices]


class RecheckDateMixin:
    """A re-check date, when it is set or moved, lies ahead and not too far ahead."""

    def clean_recheck_on(self):
        day = self.cleaned_data.get("recheck_on")
        if day is None or day == self.instance.recheck_on:
            return day
        today = timezone.localdate()
        if day <= today:
            raise forms.ValidationError("Pick a day after today.")
        if day > today + timedelta(days=RECHECK_MAX_DAYS):
            raise forms.ValidationError("Pick a day within the next three years.")
        return day


class ActionItemForm(Unsuffixed, RecheckDateMixin, VersionedForm, forms.ModelForm):
    """Every field of an action item, as the postmortem page edits it."""

    class Meta:
        model = ActionItem
        # Exactly what its save service may change.
        fields = list(ACTION_ITEM_FIELDS)
        field_classes = {
            "owner": PersonChoiceField,
            "due_date": IsoDateField,
            "recheck_on": IsoDateField,
        }
        widgets = {
            "ticket_url": forms.URLInput(attrs={"placeholder": "https://"}),
            "evidence_url": forms.URLInput(attrs={"placeholder": "https://"}),
            "wont_do_reason": TEXTAREA,
            "outcome": TEXTAREA,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rate_levels(self)
        incident = self.instance.incident
        self.fields["owner"].queryset = active_people()
        self.fields["owner"].empty_label = "No owner yet"
        self.fields["team"].queryset = Team.objects.all()
        self.fields["team"].empty_label = "The incident's team"
        self.fields["cause"].queryset = Cause.objects.filter(postmortem__incident=incident)
        self.fields["cause"].empty_label = "No particular cause"
        self.fields["worth_it"].choices = [("", "Not said yet"), *ActionItem.WorthIt.choices]


class NewActionItemForm(ActionItemForm):
    base_version = None


class ActionItemUpdateForm(Unsuffixed, RecheckDateMixin, VersionedForm, forms.ModelForm):
    """The quick update from a list: status, owner, due date, and what closing asks for."""

    class Meta:
        model = ActionItem
        fields = [
            "status",
            "owner",
            "due_date",
            "wont_do_reason",
            "outcome",
            "worth_it",
            "evidence_url",
            "recheck_on",
        ]
        field_classes = {
            "owner": PersonChoiceField,
            "due_date": IsoDateField,
            "recheck_on": IsoDateField,
        }
        widgets = {
            "wont_do_reason": TEXTAREA,
            "outcome": TEXTAREA,
            "evidence_url": forms.URLInput(attrs={"placeholder": "https://"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = active_people()
        self.fields["owner"].empty_label = "No owner yet"
        self.fields["worth_it"].choices = [("", "Not said yet"), *ActionItem.WorthIt.choices]


class SnoozeForm(Unsuffixed, VersionedForm):
    until = IsoDateField(label="New due date")
    reason = forms.CharField(
        label="Why it can wait",
        max_length=300,
        help_text="Recorded with the item, and shown in its history.",
        error_messages={"required": "Say why it can wait."},
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= self.today:
            raise forms.ValidationError("Pick a day after today.")
        return until


class RecheckForm(Unsuffixed, VersionedForm):
    """The answer to "is it still working?" for an item closed as done."""

    WORKING = "working"
    REOPEN = "reopen"

    result = forms.ChoiceField(
        label="Is it still working?",
        choices=[(WORKING, "Yes, still working"), (REOPEN, "No — reopen the item")],
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether it is still working."},
    )
    note = forms.CharField(
        label="What you looked at",
        max_length=500,
        help_text="The alert that fired, the dashboard, the drill: what shows it.",
        error_messages={"required": "Say what you looked at, so the next person can too."},
    )


class ReviewFilterForm(Unsuffixed, forms.Form):
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="Every team")
    owner = PersonChoiceField(active_people(), required=False, empty_label="Anyone")
    severity = forms.ModelChoiceField(
        Severity.objects.all(),
        required=False,
        empty_label="Any severity",
        label="Incident severity",
    )
    service = forms.ModelChoiceField(
        Service.objects.all(), required=False, empty_label="Any service"
    )
    order = forms.ChoiceField(
        label="Order",
        required=False,
        choices=[("", "By date"), (QUICK_WINS_FIRST, "Low effort, high impact first")],
    )

    def filters(self) -> dict:
        """The chosen filters, or none at all when the query string is not valid."""
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


class WeeklyReviewForm(Unsuffixed, forms.ModelForm):
    class Meta:
        model = WeeklyReview
        fields = ["notes"]
        labels = {"notes": "Notes from this week's review"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class NagPreferenceForm(Unsuffixed, forms.ModelForm):
    class Meta:
        model = NagPreference
        fields = ["by_email", "by_slack", "paused_until"]
        field_classes = {"paused_until": IsoDateField}


class ReviewMeetingForm(Unsuffixed, forms.ModelForm):
    class Meta:
        model = ReviewMeeting
        fields = ["held_on", "notes"]
        field_classes = {"held_on": IsoDateField}
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}


# Review meetings ----------------------------------------------------------------------------


class AttendeesField(PeopleChoiceField):
    """The people invited, by name."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Each gets the invitation by e-mail, with a calendar file.")
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple(attrs={"class": "people-choice"}))
        super().__init__(queryset=active_people(), **kwargs)


class MeetingScheduleForm(Unsuffixed, forms.ModelForm):
    """Scheduling a meeting: when, where, who."""

    attendees = AttendeesField()

    class Meta:
        model = ReviewMeeting
        fields = ["scheduled_at", "location"]
        field_classes = {"scheduled_at": IsoDateTimeField}
        labels = {"scheduled_at": "Starts at"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheduled_at"].required = True
        if self.instance.pk:
            self.fields["attendees"].initial = list(
                self.instance.attendance.values_list("user_id", flat=True)
            )

    def clean_scheduled_at(self):
        moment = self.cleaned_data["scheduled_at"]
        if moment != self.instance.scheduled_at and self.instance.is_held:
            raise forms.ValidationError("This meeting has been held: it cannot move.")
        if moment != self.instance.scheduled_at:
            try:
                check_schedule(moment)
            except ValidationError as error:
                raise forms.ValidationError(error.message_dict["scheduled_at"]) from None
        return moment


class MeetingForm(VersionedForm, MeetingScheduleForm):
    """Changing a scheduled meeting in place; its save moves the invitation."""


class AttendeeForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = MeetingAttendee
        fields = ["presence"]
        labels = {"presence": "Came to the meeting?"}


class NewAttendeeForm(forms.ModelForm):
    """Someone who joined without an invitation."""

    class Meta:
        model = MeetingAttendee
        fields = ["user", "presence"]
        field_classes = {"user": PersonChoiceField}
        labels = {"user": "Who joined", "presence": "Came to the meeting?"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = active_people()
        self.fields["presence"].initial = MeetingAttendee.Presence.PRESENT

    def clean_user(self):
        person = self.cleaned_data["user"]
        meeting = self.instance.meeting
        if meeting.attendance.filter(user=person).exists():
            raise forms.ValidationError(f"{display_name(person)} is on the list already.")
        return person


class DecisionForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = MeetingDecision
        fields = ["text"]
        widgets = {"text": TEXTAREA}
        labels = {"text": "Decision"}


class NewDecisionForm(forms.ModelForm):
    class Meta:
        model = MeetingDecision
        fields = ["text"]
        widgets = {"text": TEXTAREA}
        labels = {"text": "Decision"}


class DissentFields(forms.ModelForm):
    class Meta:
        model = MeetingDissent
        fields = ["author", "text"]
        field_classes = {"author": PersonChoiceField}
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
        labels = {"author": "Whose view", "text": "The view, in their words"}
        help_texts = {
            "author": "Written for someone else, it waits until they confirm it is theirs."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["author"].queryset = active_people()


class DissentForm(VersionedForm, DissentFields):
    pass


class NewDissentForm(DissentFields):
    def clean(self):
        # Written by its author, a dissent is theirs at once; written for someone, it waits
        # for them to confirm it.
        cleaned = super().clean()
        author = cleaned.get("author")
        writer = self.instance.written_by
        mine = author is not None and writer is not None and author.pk == writer.pk
        self.instance.consented_at = timezone.now() if mine else None
        return cleaned


class TimerForm(VersionedForm):
    action = forms.ChoiceField(
        choices=[(name, name) for name in ("start", "pause", "next", "back", "end")],
        error_messages={"invalid_choice": "Say start, pause, next, back or end."},
    )
