"""A person's own API tokens: make one (shown once), see them, revoke them."""

from __future__ import annotations

from django import forms
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from api.models import ApiToken
from api.tokens import MAX_DAYS, api_token_create, api_token_revoke, tokens_of

PAGE = "api/tokens.html"


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="What is it for?",
        max_length=100,
        help_text="Such as “deploy script” or “Grafana dashboard”.",
    )
    scope = forms.ChoiceField(
        label="It may", choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ
    )
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=MAX_DAYS,
        initial=90,
        required=False,
        help_text="Leave empty for a token that lasts until you revoke it.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _render(request, *, part: str | None = None, status: int = 200, **extra):
    context = {"tokens": tokens_of(request.user), "form": ApiTokenForm(), **extra}
    template = f"{PAGE}#{part}" if part and request.htmx else PAGE
    return render(request, template, context, status=status)


@require_GET
def token_list(request):
    return _render(request)


@require_POST
def token_new(request):
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render(request, part="tokens", status=422, form=form)
    row, token = api_token_create(
        user=request.user,
        name=form.cleaned_data["name"],
        scope=form.cleaned_data["scope"],
        days=form.cleaned_data["days"],
    )
    # The token exists only in this response: only its hash is stored.
    return _render(request, part="tokens", status=201, new_token=token, new_row=row)


@require_POST
def token_revoke(request, pk: int):
    row = get_object_or_404(ApiToken, pk=pk, user=request.user)
    revoked = api_token_revoke(token=row, user=request.user)
    notice = (
        f"“{row.name}” is revoked; it stopped working just now."
        if revoked
        else (f"“{row.name}” was revoked already.")
    )
    return _render(request, part="tokens", notice=notice)
