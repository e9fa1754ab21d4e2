"""Forms of the publishing page: status changes with their reasons, and stakeholder links."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from kernel.widgets import IsoDateField
from postmortems.models import ShareLink
from postmortems.publishing.workflow import REASON_MAX_LENGTH


class NoColonMixin:
    """Labels as written, without the colon Django adds by default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ReturnToDraftForm(NoColonMixin, forms.Form):
    reason = forms.CharField(
        label="Why does it go back to draft?",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the history, and shown to whoever picks the draft up.",
    )


class PublishForm(NoColonMixin, forms.Form):
    send_summary = forms.BooleanField(
        required=False, initial=True, label="Send the summary when it is published"
    )
    override_reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        label="Why publish before the checklist is complete?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Staff only. Recorded with the publication, together with what was missing.",
    )
    # Set by the second step: publishing is asked once more, saying what it will do.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


# A link that should outlive this is one that should not expire: leave the day empty.
LONGEST_EXPIRY = timedelta(days=5 * 366)


class ShareLinkForm(NoColonMixin, forms.ModelForm):
    expires_on = IsoDateField(
        required=False,
        label="Expires after (optional)",
        help_text="The link stops working at the end of this day. Leave empty to keep it "
        "until it is revoked.",
    )

    class Meta:
        model = ShareLink
        fields = ["label", "kind", "hide_names", "share_draft"]
        widgets = {"kind": forms.RadioSelect}
        labels = {"label": "Who is it for?", "share_draft": "Share the draft"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].required = False

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or ShareLink.Kind.POSTMORTEM

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        today = timezone.localdate()
        if day is not None and day < today:
            raise forms.ValidationError("Pick today or a later day.")
        if day is not None and day > today + LONGEST_EXPIRY:
            raise forms.ValidationError(
                "Pick a day within five years, or leave it empty to keep the link until it "
                "is revoked."
            )
        return day

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
