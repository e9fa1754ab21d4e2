"""Signing in: the password form (throttled by django-axes) and OpenID Connect single sign-on.

Single sign-on (mozilla-django-oidc) is on when OIDC_RP_CLIENT_ID is set. A person signing in
for the first time gets an account; on every sign-in their name, e-mail, teams and role are
taken from the provider's claims, so the provider stays the one place they are managed:
- each value of the OIDC_TEAMS_CLAIM claim that names a team (its slug or name, in any case)
  makes them a member of it, and they leave the teams it no longer names;
- OIDC_ADMIN_GROUP in that claim makes them an admin (and its absence takes that away);
- OIDC_VIEWER_GROUP puts them in the read-only "Viewers" group.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import timedelta

import requests
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend, default_username_algo
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from incidents.models import Team

logger = logging.getLogger(__name__)

VIEWER_GROUP = "Viewers"
LOGIN_TEMPLATE = "registration/login.html"


def sso_enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


def sign_in_context() -> dict:
    return {
        "sso_enabled": sso_enabled(),
        "sso_provider_name": settings.OIDC_PROVIDER_NAME,
        "password_login": settings.HINDSIGHT_PASSWORD_LOGIN,
    }


# Password sign-in ------------------------------------------------------------------------


class PasswordBackend(ModelBackend):
    """Django's own username-and-password check, unless HINDSIGHT_PASSWORD_LOGIN is off.

    Switched off, no password signs anyone in anywhere (the admin's login form included);
    permissions are still answered here for people who signed in with single sign-on.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.HINDSIGHT_PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SignInView(auth_views.LoginView):
    """The login page: the password form, a "Sign in with ..." button, or both."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | sign_in_context()

    def post(self, request, *args, **kwargs):
        if not settings.HINDSIGHT_PASSWORD_LOGIN:
            context = self.get_context_data(form=self.get_form_class()(request))
            context["refusal"] = (
                "Signing in with a password is switched off here. "
                f"Use “Sign in with {settings.OIDC_PROVIDER_NAME}” instead."
            )
            return render(request, LOGIN_TEMPLATE, context, status=403)
        return super().post(request, *args, **kwargs)


def locked_out(request: HttpRequest, credentials: dict | None = None, *args) -> HttpResponse:
    """What django-axes answers while a username or an address is locked out."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    minutes = _minutes_until_unlocked(username, request.META.get("REMOTE_ADDR", ""))
    context = sign_in_context() | {
        "form": form,
        "lockout": (
            f"Too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}"
            " or ask an admin to unlock your account."
        ),
    }
    return render(request, LOGIN_TEMPLATE, context, status=429)


def _minutes_until_unlocked(username: str, address: str) -> int:
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    latest = AccessAttempt.objects.filter(Q(username=username) | Q(ip_address=address)).aggregate(
        latest=Max("attempt_time")
    )["latest"]
    if latest is None:
        return math.ceil(cool_off.total_seconds() / 60)
    remaining = latest + cool_off - timezone.now()
    return max(1, math.ceil(remaining.total_seconds() / 60))


# Single sign-on --------------------------------------------------------------------------


def on_sso_sign_in(user, claims: dict) -> None:
    """Called after each single sign-on, once the claims are applied: the audit log's entry."""
    logger.info(
        "single sign-on: %s signed in (teams: %s)",
        user.get_username(),
        ", ".join(user.teams.values_list("slug", flat=True)) or "none",
    )


def _claimed_groups(claims: dict) -> list[str]:
    value = claims.get(settings.OIDC_TEAMS_CLAIM)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        return []
    return [str(item).strip() for item in value if str(item).strip()]


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code-flow backend, with Hindsight's claim mapping."""

    def authenticate(self, request, **kwargs):
        """None, with the reason logged, when the provider refuses the code or cannot be reached.

        The callback view then sends the person back to the login page with a message, rather
        than answering a stale or forged code with an error page.
        """
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as error:
            logger.warning("single sign-on failed at the provider: %s", error)
            return None

    def verify_claims(self, claims: dict) -> bool:
        return bool(claims.get("email") and claims.get("sub"))

    def get_username(self, claims: dict) -> str:
        """The provider's preferred_username when it is free, else a stable hash of the e-mail."""
        preferred = str(claims.get("preferred_username") or "").strip()[:150]
        users = get_user_model().objects
        if preferred and not users.filter(username__iexact=preferred).exists():
            return preferred
        return default_username_algo(claims["email"], claims)

    def create_user(self, claims: dict):
        with transaction.atomic():
            user = super().create_user(claims)
            user.set_unusable_password()
            return self._apply_claims(user, claims)

    def update_user(self, user, claims: dict):
        with transaction.atomic():
            return self._apply_claims(user, claims)

    def _apply_claims(self, user, claims: dict):
        groups = _claimed_groups(claims)
        lowered = {group.lower() for group in groups}
        user.email = claims.get("email", user.email)
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        if settings.OIDC_ADMIN_GROUP:
            is_admin = settings.OIDC_ADMIN_GROUP.lower() in lowered
            user.is_staff = user.is_superuser = is_admin
        user.save()
        if settings.OIDC_VIEWER_GROUP:
            viewers, _ = Group.objects.get_or_create(name=VIEWER_GROUP)
            if settings.OIDC_VIEWER_GROUP.lower() in lowered:
                user.groups.add(viewers)
            else:
                user.groups.remove(viewers)
        if settings.OIDC_TEAMS_CLAIM in claims:
            # From the team's side, so that the team's history records who joined and left.
            for team in Team.objects.all():
                named = team.slug.lower() in lowered or team.name.lower() in lowered
                member = team.members.filter(pk=user.pk).exists()
                if named and not member:
                    team.members.add(user)
                elif member and not named:
                    team.members.remove(user)
        on_sso_sign_in(user, claims)
        return user


def _only_when_configured(view):
    def wrapped(request, *args, **kwargs):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        return view(request, *args, **kwargs)

    return login_not_required(wrapped)


class SignOnCallbackView(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self) -> str:
        return resolve_url(settings.LOGIN_URL)

    def login_failure(self):
        messages.error(
            self.request,
            f"Signing in with {settings.OIDC_PROVIDER_NAME} did not work. "
            "Try again, or ask an admin if it keeps failing.",
        )
        return super().login_failure()


sso_start = _only_when_configured(OIDCAuthenticationRequestView.as_view())
sso_callback = _only_when_configured(SignOnCallbackView.as_view())
