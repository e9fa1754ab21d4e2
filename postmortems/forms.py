from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from incidents.forms import PersonChoiceField
from kernel.forms import VersionedForm
from kernel.widgets import IsoDateField
from postmortems.models import AcceptedRisk, Cause, Image, PostmortemRequest, Section, Why

# A risk accepted for longer than this is never looked at again by anyone who took it.
REVISIT_MAX_DAYS = 2 * 366


class SectionForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Section
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"body": "Markdown: **bold**, lists, links, `code`, tables."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = self.instance.title
        # A browser cuts a paste at `maxlength` without a word; the server says what is too
        # long instead, and the page keeps the whole text until it is shortened.
        self.fields["body"].widget.attrs.pop("maxlength", None)


class CauseForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Cause
        fields = ["statement", "kind", "category"]
        widgets = {"statement": forms.Textarea(attrs={"rows": 2})}


class NewCauseForm(CauseForm):
    base_version = None


class WhyForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Why
        fields = ["question", "answer", "evidence"]
        widgets = {
            "answer": forms.Textarea(attrs={"rows": 2}),
            "evidence": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "question": "Question: why did it happen?",
            "answer": "Answer: because…",
            "evidence": "Evidence for the answer",
        }
        help_texts = {
            "question": "The question itself, e.g. “Why did the deploy skip the canary?”",
            "answer": "What the team found: the reason, as far as it is known.",
        }


class NewWhyForm(WhyForm):
    base_version = None


class AcceptedRiskForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = AcceptedRisk
        fields = ["accepted_by", "reason", "revisit_on"]
        field_classes = {"accepted_by": PersonChoiceField, "revisit_on": IsoDateField}
        widgets = {"reason": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True)
        self.fields["accepted_by"].queryset = people.order_by("first_name", "username")
        self.fields["accepted_by"].required = True
        self.fields["accepted_by"].empty_label = "Choose who accepts it"
        self.fields["accepted_by"].error_messages["required"] = (
            "Say who accepts the risk: a decision needs someone who took it."
        )
        self.fields["reason"].error_messages["required"] = "Say why the team lives with it for now."
        self.fields["revisit_on"].error_messages["required"] = "Pick the day to look at it again."

    def clean_revisit_on(self):
        day = self.cleaned_data["revisit_on"]
        if day == self.instance.revisit_on:
            return day
        today = timezone.localdate()
        if day <= today:
            raise forms.ValidationError("Pick a day after today.")
        if day > today + timedelta(days=REVISIT_MAX_DAYS):
            raise forms.ValidationError("Pick a day within the next two years.")
        return day


class NewAcceptedRiskForm(AcceptedRiskForm):
    base_version = None


class PostmortemRequestForm(forms.ModelForm):
    class Meta:
        model = PostmortemRequest
        fields = ["reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3})}
        error_messages = {
            "reason": {"required": "Say what you noticed and why a review would help."}
        }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ImageCaptionForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Image
        fields = ["caption"]
        help_texts = {"caption": "What the image shows, for readers and screen readers."}
