from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.models import (
    AuditEntry,
    Incident,
    Service,
    Severity,
    Team,
    TeamWebhook,
    TimelineEntry,
)
from kernel.forms import VersionedForm
from kernel.text import display_name
from kernel.widgets import IsoDateTimeField

User = get_user_model()


class IncidentTimeField(IsoDateTimeField):
    """A moment of an incident: a real one, in the years an incident can happen.

    Year 1 or 9999 in a far time zone would not fit the database (or the arithmetic of
    durations) once turned into UTC; it is a slip of the keyboard, answered in words.
    """

    EARLIEST_YEAR = 1970
    LATEST_YEAR = 2999

    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "out_of_range":
                raise forms.ValidationError(self._out_of_range(), "out_of_range") from None
            raise
        if moment is not None and not (self.EARLIEST_YEAR <= moment.year <= self.LATEST_YEAR):
            raise forms.ValidationError(self._out_of_range())
        return moment

    def _out_of_range(self) -> str:
        return f"Pick a time between the years {self.EARLIEST_YEAR} and {self.LATEST_YEAR}."


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return display_name(user)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user) -> str:
        return display_name(user)


class SeverityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, severity) -> str:
        return f"{severity.name} — {severity.meaning}"


INCIDENT_FIELD_CLASSES = {
    "started_at": IncidentTimeField,
    "detected_at": IncidentTimeField,
    "mitigated_at": IncidentTimeField,
    "resolved_at": IncidentTimeField,
    "owner": PersonChoiceField,
    "responders": PeopleChoiceField,
    "severity": SeverityChoiceField,
}
INCIDENT_WIDGETS = {
    "responders": forms.SelectMultiple(attrs={"size": 4}),
    "services": forms.SelectMultiple(attrs={"size": 4}),
}


def private_audience(incident: Incident | None) -> str:
    """Who will see the incident when it is private, in words, for the form to say."""
    team = incident.team if incident is not None and incident.team_id else None
    team_words = f"the members and lead of {team}" if team else "the owning team (none yet)"
    return (
        f"When private, only the incident owner, the responders, {team_words}, the people "
        "listed under “Also visible to”, and admins see it; for everyone else it does not "
        "exist, in lists, search, reminders and Slack alike."
    )


class IncidentCreateForm(forms.ModelForm):
    """A title and a severity open an incident; everything else can follow."""

    # The fields worth asking for before anything else; the rest sit behind "More details".
    ESSENTIAL = ("title", "severity")

    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
            "owner",
            "started_at",
            "detected_at",
            "team",
            "services",
            "customer_facing",
            "near_miss",
            "private",
        ]
        field_classes = INCIDENT_FIELD_CLASSES
        widgets = INCIDENT_WIDGETS
        labels = {"owner": "Incident commander"}
        help_texts = {
            "started_at": "When it began for users, to the second if you know it. Empty means now.",
            "owner": "You, unless you pick someone else.",
            "private": "When private, only you, the responders, the owning team's members "
            "and lead, and admins see it.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].queryset = Severity.objects.all()
        self.fields["severity"].empty_label = "Choose how bad it is"
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("first_name")
        self.fields["owner"].empty_label = "Me"
        self.fields["started_at"].required = False
        self.fields["services"].queryset = Service.objects.all()
        self.fields["team"].queryset = Team.objects.all()

    def clean_started_at(self):
        return self.cleaned_data["started_at"] or timezone.now().replace(microsecond=0)

    def essential_fields(self):
        return [self[name] for name in self.ESSENTIAL]

    def more_fields(self):
        return [field for field in self if field.name not in self.ESSENTIAL]

    def more_fields_have_errors(self) -> bool:
        return any(field.errors for field in self.more_fields())


class IncidentHeaderForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
            "status",
            "started_at",
            "detected_at",
            "mitigated_at",
            "resolved_at",
            "owner",
            "responders",
            "team",
            "services",
            "customer_facing",
            "near_miss",
            "private",
            "viewers",
        ]
        field_classes = {**INCIDENT_FIELD_CLASSES, "viewers": PeopleChoiceField}
        widgets = {**INCIDENT_WIDGETS, "viewers": forms.SelectMultiple(attrs={"size": 4})}
        labels = {"viewers": "Also visible to"}

    # Who may see and manage the incident: only its owner, its team's lead and admins change
    # these (everyone else gets them disabled, and a disabled field ignores what is posted).
    MANAGED_FIELDS = ("owner", "responders", "team", "private", "viewers")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].empty_label = None
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("first_name")
        self.fields["responders"].queryset = self.fields["owner"].queryset
        self.fields["viewers"].queryset = self.fields["owner"].queryset
        self.fields["private"].help_text = private_audience(self.instance)


class TimelineEntryForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = TimelineEntry
        fields = ["occurred_at", "kind", "text"]
        field_classes = {"occurred_at": IncidentTimeField}
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}
        labels = {"occurred_at": "Time", "text": "What happened"}


class NewTimelineEntryForm(TimelineEntryForm):
    base_version = None


class IncidentFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    severity = forms.ModelChoiceField(
        Severity.objects.all(), required=False, empty_label="Any severity"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("active", "Active"), *Incident.Status.choices],
        required=False,
    )
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="Any team")
    service = forms.ModelChoiceField(
        Service.objects.all(), required=False, empty_label="Any service"
    )
    kind = forms.ChoiceField(
        label="Kind",
        choices=[
            ("", "Any kind"),
            ("incident", "Incidents"),
            ("near-miss", "Near misses"),
        ],
        required=False,
    )

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["q"]:
            queryset = queryset.filter(title__icontains=data["q"])
        if data["severity"]:
            queryset = queryset.filter(severity=data["severity"])
        if data["status"] == "active":
            queryset = queryset.filter(status__in=Incident.ACTIVE_STATUSES)
        elif data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["team"]:
            queryset = queryset.filter(team=data["team"])
        if data["service"]:
            queryset = queryset.filter(services=data["service"])
        if data["kind"]:
            queryset = queryset.filter(near_miss=data["kind"] == "near-miss")
        return queryset


class TeamForm(forms.ModelForm):
    """What a team's lead changes about the team: who is in it, how it is reminded, its Slack."""

    class Meta:
        model = Team
        fields = ["members", "nag_every_days", "nag_escalate_after", "slack_webhook_url"]
        field_classes = {"members": PeopleChoiceField}
        widgets = {"members": forms.SelectMultiple(attrs={"size": 8})}
        labels = {"slack_webhook_url": "Slack webhook URL"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "username"
        )
        self.fields[
            "members"
        ].help_text = (
            "Members see the team's private incidents. Hold Ctrl (⌘ on a Mac) to pick several."
        )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label="What happened",
        required=False,
        choices=[("", "Anything"), *AuditEntry.Action.choices],
    )


class TeamWebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label="Send these events",
        widget=forms.CheckboxSelectMultiple,
        help_text="Each is sent as a signed JSON POST; choose at least one.",
    )

    class Meta:
        model = TeamWebhook
        fields = ["url", "description", "events"]
        labels = {"url": "Endpoint URL", "description": "What it is for (optional)"}
        help_texts = {
            "url": "https:// to a public address, e.g. https://ops.example.com/hooks/hindsight"
        }

    def __init__(self, *args, **kwargs):
        from incidents.webhooks import PING, event_types

        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(t.name, t.label) for t in event_types() if t.name != PING]
