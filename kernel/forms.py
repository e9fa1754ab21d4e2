from __future__ import annotations

from django import forms

# The largest version a block can have (the column is a PostgreSQL integer).
MAX_VERSION = 2**31 - 1
BAD_VERSION = "This form carries a version no block can have: reload the page and edit again."


class VersionedForm(forms.Form):
    """Carries the version of the block the editor started from."""

    base_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        max_value=MAX_VERSION,
        error_messages=dict.fromkeys(
            ("required", "invalid", "min_value", "max_value"), BAD_VERSION
        ),
    )
