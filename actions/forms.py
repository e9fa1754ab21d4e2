from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from actions.models import ActionItem
from incidents.forms import PersonChoiceField, VersionedForm
from postmortems.models import Cause


class DateInput(forms.DateInput):
    input_type = "date"


class ActionItemForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_date", "kind", "status", "cause"]
        field_classes = {"owner": PersonChoiceField}
        widgets = {"due_date": DateInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        incident = self.instance.incident
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True)
        self.fields["owner"].empty_label = "No owner yet"
        self.fields["cause"].queryset = Cause.objects.filter(postmortem__incident=incident)
        self.fields["cause"].empty_label = "No particular cause"


class NewActionItemForm(ActionItemForm):
    base_version = None
