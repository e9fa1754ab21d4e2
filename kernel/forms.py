from __future__ import annotations

from django import forms


class VersionedForm(forms.Form):
    """Carries the version of the block the editor started from."""

    base_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
