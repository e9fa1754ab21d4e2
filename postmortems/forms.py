from __future__ import annotations

from django import forms

from incidents.forms import VersionedForm
from postmortems.models import Cause, Section, Why


class SectionForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Section
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"body": "Markdown: **bold**, lists, links, `code`, tables."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = self.instance.title


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
        labels = {"question": "Why?"}


class NewWhyForm(WhyForm):
    base_version = None
