from __future__ import annotations

from django import forms

from kernel.forms import VersionedForm
from postmortems.models import Cause, Image, Section, Why


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
        fields = ["statement", "kind"]
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


class ImageCaptionForm(VersionedForm, forms.ModelForm):
    class Meta:
        model = Image
        fields = ["caption"]
        help_texts = {"caption": "What the image shows, for readers and screen readers."}
