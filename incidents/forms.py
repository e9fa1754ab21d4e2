from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from incidents.models import Incident, Service, Severity, Team, TimelineEntry
from kernel.forms import VersionedForm
from kernel.text import display_name
from kernel.widgets import IsoDateTimeField

User = get_user_model()


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
    "owner": PersonChoiceField,
    "responders": PeopleChoiceField,
    "severity": SeverityChoiceField,
    "started_at": IsoDateTimeField,
    "detected_at": IsoDateTimeField,
    "mitigated_at": IsoDateTimeField,
    "resolved_at": IsoDateTimeField,
}
INCIDENT_WIDGETS = {
    "responders": forms.SelectMultiple(attrs={"size": 4}),
    "services": forms.SelectMultiple(attrs={"size": 4}),
}


class IncidentCreateForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
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
        help_texts = {"started_at": "When it began for users, to the second if you know it."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].queryset = Severity.objects.all()
        self.fields["severity"].empty_label = None
        self.fields["services"].queryset = Service.objects.all()
        self.fields["team"].queryset = Team.objects.all()


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
        ]
        field_classes = INCIDENT_FIELD_CLASSES
        widgets = INCIDENT_WIDGETS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["severity"].empty_label = None
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("first_name")
        self.fields["responders"].queryset = self.fields["owner"].queryset


class TimelineEntryForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = TimelineEntry
        fields = ["occurred_at", "kind", "text"]
        field_classes = {"occurred_at": IsoDateTimeField}
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
