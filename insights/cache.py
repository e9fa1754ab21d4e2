"""The insights figures, computed once and kept until the data under them changes.

Computing the figures reads every incident of the period with its postmortem, causes, action
items and recurrences; readers come far more often than saves. An entry is kept under a key
made of everything the figures depend on, so it can never be another reader's or an old one:

1. The data version: one counter, bumped by every save or delete of a model the figures read
   (`connect()` below). It is bumped at once and again when the transaction commits, so a
   reader computing from the uncommitted state between the two stores under a version nobody
   asks for any more. A lost counter starts again from the clock, never from an old value.
2. The reader's visibility, as the policy names it (`visibility_scope`): two people who may
   see exactly the same incidents share the entry; anyone else cannot. It is kept per person
   under the data version too, which every change of who may see what also bumps.
3. The filters: the periods of the trend (so "this quarter" moves with the calendar) in the
   viewer's time zone (a period runs from their midnight), team, service and severity.
4. Today's date, as overdue ageing counts days; and within the day the entry holds only until
   the next postmortem due date passes (it moves "not due yet" to "past due"), at most
   `MAX_AGE` (a bound for writes that bypass `save()`, such as a bulk load: call `bump()`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from incidents.models import Incident
from incidents.policy import visibility_scope
from insights.figures import Figure, all_figures, in_period, scoped
from insights.periods import Period

MAX_AGE = timedelta(minutes=10)
VERSION_KEY = "insights:data-version"


def _database() -> str:
    # Several databases may share one cache (a test run, a benchmark beside development).
    return str(settings.DATABASES["default"]["NAME"])


def _version_key() -> str:
    return f"{VERSION_KEY}:{_database()}"


def data_version() -> int:
    version = cache.get(_version_key())
    if version is None:
        cache.add(_version_key(), time.time_ns(), timeout=None)
        version = cache.get(_version_key())
    return version


def bump() -> None:
    """Make every stored figure old: the next reader computes them afresh."""
    try:
        cache.incr(_version_key())
    except ValueError:  # no counter (evicted, or a fresh cache): start past any earlier value
        cache.set(_version_key(), time.time_ns(), timeout=None)


def bump_on_commit(**kwargs) -> None:
    bump()
    transaction.on_commit(bump)


def _bump_unless_signing_in(update_fields=None, **kwargs) -> None:
    # Signing in saves the user's last_login, which changes nothing anybody may see.
    if update_fields is None or set(update_fields) != {"last_login"}:
        bump_on_commit()


def connect() -> None:
    """Bump the version on every save or delete of what the figures read, and of what decides
    who may read which incident (people, teams, responders, viewers)."""
    from django.contrib.auth import get_user_model

    from actions.models import ActionItem
    from incidents.models import Service, Severity, Team
    from insights.models import Recurrence
    from postmortems.models import Cause, CauseCategory, Postmortem, Publication

    for model in (Incident, Team, Service, Severity, Postmortem, Publication, Cause,
                  CauseCategory, ActionItem, Recurrence):  # fmt: skip
        uid = f"insights-cache-{model._meta.label}"
        post_save.connect(bump_on_commit, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(bump_on_commit, sender=model, dispatch_uid=uid + "-delete")
    for through in (Incident.services.through, Incident.responders.through,
                    Incident.viewers.through, Team.members.through):  # fmt: skip
        m2m_changed.connect(
            bump_on_commit, sender=through, dispatch_uid=f"insights-cache-{through._meta.label}"
        )
    User = get_user_model()
    post_save.connect(_bump_unless_signing_in, sender=User, dispatch_uid="insights-cache-user")
    post_delete.connect(bump_on_commit, sender=User, dispatch_uid="insights-cache-user-delete")


def _visibility(user, version: int) -> str:
    """The policy's `visibility_scope`, kept per person until the version moves on (every
    change of who may see what bumps it)."""
    if not getattr(user, "pk", None):
        return visibility_scope(user)
    key = f"insights:scope:{_database()}:{version}:{user.pk}"
    scope = cache.get(key)
    if scope is None:
        scope = visibility_scope(user)
        cache.set(key, scope, timeout=MAX_AGE.total_seconds())
    return scope


def _key(user, trend: list[Period], scope: dict, today) -> str:
    # Periods run from midnight in the viewer's zone, so the zone is part of what was counted.
    filters = (
        [timezone.get_current_timezone_name()]
        + [f"{p.start}/{p.end}" for p in trend]
        + [
            f"{name}={getattr(scope.get(name), 'pk', '')}"
            for name in ("team", "service", "severity")
        ]
    )
    digest = hashlib.sha256("|".join(filters).encode()).hexdigest()[:32]
    version = data_version()
    scope_key = _visibility(user, version)
    return f"insights:figures:{_database()}:{version}:{scope_key}:{digest}:{today}"


def _next_due(incidents: QuerySet[Incident], now: datetime) -> datetime | None:
    return incidents.filter(postmortem__due_at__gt=now).aggregate(due=Min("postmortem__due_at"))[
        "due"
    ]


@dataclass(frozen=True)
class Figures:
    figures: list[Figure]
    # Names this computation: what the page's rendered tables are kept under (`{% cache %}`).
    key: str


def figures(user, period: Period, trend: list[Period], *, now: datetime, **scope) -> Figures:
    """`figures.all_figures`, from the cache when nothing under them changed."""
    key = _key(user, trend, scope, timezone.localdate(now))
    entry = cache.get(key)
    if entry is not None and entry["until"] > now:
        return Figures(entry["figures"], f"{key}:{entry['until'].timestamp()}")
    found = all_figures(user, period, trend, now=now, **scope)
    tomorrow = timezone.make_aware(
        datetime.combine(timezone.localdate(now) + timedelta(days=1), datetime.min.time())
    )
    due = _next_due(in_period(scoped(user, **scope), period), now)
    until = min(filter(None, [now + MAX_AGE, tomorrow, due]))
    cache.set(key, {"figures": found, "until": until}, timeout=MAX_AGE.total_seconds())
    return Figures(found, f"{key}:{until.timestamp()}")
