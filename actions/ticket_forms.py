from __future__ import annotations

import re

from django import forms

from actions.models import TrackerConnection
from actions.trackers import tracker_url_refusal
from kernel.crypto import encrypt
from kernel.trackers import trackers

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


class TrackerConnectionForm(forms.ModelForm):
    tracker = forms.ChoiceField(label="Tracker")
    token = forms.CharField(
        label="Token (stored encrypted)",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="A token that may create issues in the project. Leave empty to keep the "
        "stored one, or name an environment variable below instead.",
    )

    class Meta:
        model = TrackerConnection
        fields = ["tracker", "base_url", "project", "username", "token", "token_env", "labels"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["tracker"].choices = [(t.name, t.label) for t in trackers()]
        self.fields["base_url"].help_text = " · ".join(
            f"{t.label}: {t.default_base_url}" for t in trackers()
        )
        self.fields["project"].help_text = " · ".join(
            f"{t.label}: {t.project_help}" for t in trackers()
        )

    def clean_base_url(self) -> str:
        url = self.cleaned_data["base_url"]
        refusal = tracker_url_refusal(url)
        if refusal:
            raise forms.ValidationError(refusal)
        return url.rstrip("/")

    def clean_token_env(self) -> str:
        name = self.cleaned_data["token_env"].strip()
        if name and not ENV_NAME.match(name):
            raise forms.ValidationError(
                "An environment variable name: capital letters, digits and _, e.g. "
                "HINDSIGHT_GITHUB_TOKEN."
            )
        return name

    def clean_project(self) -> str:
        project = self.cleaned_data["project"].strip()
        if any(ord(c) < 32 for c in project):
            raise forms.ValidationError("A project name is one line of text.")
        return project

    def clean(self):
        data = super().clean()
        has_stored = bool(self.instance.pk and self.instance.token_encrypted)
        if not (data.get("token") or data.get("token_env") or has_stored):
            raise forms.ValidationError(
                "Give a token, or the name of the environment variable that holds it."
            )
        return data

    def save(self, commit=True):
        connection = super().save(commit=False)
        token = self.cleaned_data.get("token")
        if token:
            connection.token_encrypted = encrypt(token)
        if connection.token_env:
            connection.token_encrypted = ""  # one source of the token, never two
        if commit:
            connection.save()
        return connection
