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

The first reader after a save need not wait for the figures to be computed again. With Redis
and a Celery worker (not in embedded mode, where everything is computed inline as before):

- Every page view remembers what was asked for (reader, filters, time zone) in a Redis sorted
  set: the newest `ASKED_MAX` of the last `ASKED_FOR`.
- When a save commits, one `insights.tasks.refresh_figures` is queued `REFRESH_DELAY` later
  (saves before it starts share it): it computes those figures under the new data version.
- Until then a reader may be shown the figures computed before the save, with the note
  "figures as of HH:MM, updating", when all of these hold (otherwise the page computes inline):
  1. they were computed for the same visibility scope as the reader's *now*, under the new
     version (joining or leaving a team, being added as a viewer, changes the scope), and for
     the same filters, time zone and day;
  2. no incident has become private or been deleted since (`narrowed()`): that is the one way
     an incident can leave a reader's sight without changing their scope, so after it nobody
     is shown older figures;
  3. a save committed at most `UPDATING_FOR` ago, so a refresh is pending (a stopped worker
     leaves readers computing inline after that, never with old figures for long);
  4. they are still within their own bound (`MAX_AGE`, midnight, the next due date).
  So nobody is ever shown numbers that count an incident hidden from them: the figures count
  the incidents their scope saw then, and none of those has been hidden from that scope since.
  The CSV download is always computed fresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils import timezone

from incidents.models import Incident
from incidents.policy import visibility_scope
from insights.figures import Figure, all_figures, in_period, scoped
from insights.periods import Period

logger = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=10)
VERSION_KEY = "insights:data-version"
# Stale-while-revalidate (module docstring): how long a combination asked for is kept warm,
# how many at most, how long after the last save the refresh waits (a burst of saves shares
# one), and how long after a committed save older figures may be shown while it runs.
ASKED_FOR = timedelta(hours=1)
ASKED_MAX = 200
REFRESH_DELAY = timedelta(seconds=2)
UPDATING_FOR = timedelta(minutes=2)


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


def _after_commit() -> None:
    bump()
    if background():
        queue_refresh()


def bump_on_commit(**kwargs) -> None:
    bump()
    transaction.on_commit(_after_commit)


def _narrowed_key() -> str:
    return f"insights:narrowed:{_database()}"


def narrowed() -> None:
    """An incident left some readers' sight without changing their scope (it became private,
    or was deleted): figures computed before now are never shown again."""
    cache.set(_narrowed_key(), data_version(), timeout=None)


def _narrowed_version() -> int:
    """The version from which kept figures may be shown while newer ones are computed."""
    cache.add(_narrowed_key(), data_version(), timeout=None)  # a lost marker counts from now
    return cache.get(_narrowed_key(), data_version())


def _narrowed_after_commit() -> None:
    # Past every version a reader may have computed from the state before the commit.
    bump()
    narrowed()


def _narrow_on_commit() -> None:
    bump()
    narrowed()
    transaction.on_commit(_narrowed_after_commit)


def _incident_going_private(sender, instance, raw=False, **kwargs) -> None:
    if raw or not instance.pk or not instance.private:
        return
    if Incident.objects.filter(pk=instance.pk, private=False).exists():
        _narrow_on_commit()


def _incident_deleted(**kwargs) -> None:
    _narrow_on_commit()


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
    pre_save.connect(_incident_going_private, sender=Incident, dispatch_uid="insights-private")
    post_delete.connect(_incident_deleted, sender=Incident, dispatch_uid="insights-narrowed")
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


def _filters_digest(trend: list[Period], scope: dict) -> str:
    # Periods run from midnight in the viewer's zone, so the zone is part of what was counted.
    filters = (
        [timezone.get_current_timezone_name()]
        + [f"{p.start}/{p.end}" for p in trend]
        + [
            f"{name}={getattr(scope.get(name), 'pk', '')}"
            for name in ("team", "service", "severity")
        ]
    )
    return hashlib.sha256("|".join(filters).encode()).hexdigest()[:32]


def _next_due(incidents: QuerySet[Incident], now: datetime) -> datetime | None:
    return incidents.filter(postmortem__due_at__gt=now).aggregate(due=Min("postmortem__due_at"))[
        "due"
    ]


@dataclass(frozen=True)
class Figures:
    figures: list[Figure]
    # Names this computation: what the page's rendered tables are kept under (`{% cache %}`).
    key: str
    # When these were computed, if they are the ones from before a save (module docstring).
    as_of: datetime | None = None


def figures(
    user, period: Period, trend: list[Period], *, now: datetime, asked: dict | None = None, **scope
) -> Figures:
    """`figures.all_figures`, from the cache when nothing under them changed.

    `asked` (the page's filters as typed) lets older figures be shown while a refresh computes
    new ones, and remembers the combination for that refresh; without it they are computed.
    """
    version = data_version()
    scope_key = _visibility(user, version)
    place = f"{_database()}:{scope_key}:{_filters_digest(trend, scope)}:{timezone.localdate(now)}"
    key = f"insights:figures:{version}:{place}"
    entry = cache.get(key)
    if entry is not None and entry["until"] > now:
        return Figures(entry["figures"], f"{key}:{entry['until'].timestamp()}")
    if asked is not None and background():
        remember(user, asked)
        older = _older(place, now)
        if older is not None:
            queue_refresh(saved=False)  # in case this combination was not among those asked
            return Figures(older["figures"], older["key"], as_of=older["computed_at"])
    since = _narrowed_version() if background() else version
    found = all_figures(user, period, trend, now=now, **scope)
    tomorrow = timezone.make_aware(
        datetime.combine(timezone.localdate(now) + timedelta(days=1), datetime.min.time())
    )
    due = _next_due(in_period(scoped(user, **scope), period), now)
    until = min(filter(None, [now + MAX_AGE, tomorrow, due]))
    named = f"{key}:{until.timestamp()}"
    cache.set(key, {"figures": found, "until": until}, timeout=MAX_AGE.total_seconds())
    if background():
        # The newest figures of this place, whatever their version, for the next save's readers.
        latest = {"figures": found, "until": until, "version": version, "since": since,
                  "computed_at": now, "key": named}  # fmt: skip
        cache.set(f"insights:latest:{place}", latest, timeout=MAX_AGE.total_seconds())
    return Figures(found, named)


def _older(place: str, now: datetime) -> dict | None:
    """The figures of this place from before the last save, if the rule allows showing them."""
    if not cache.get(_pending_key()):
        return None  # no save is being caught up with (or its refresh had its chance)
    older = cache.get(f"insights:latest:{place}")
    if older is None or older["until"] <= now:
        return None
    # Computed from a state no incident has since left the scope's sight from: both the
    # version it was computed under and the narrowing marker it read before computing.
    if min(older["version"], older["since"]) < _narrowed_version():
        return None
    return older


# Background refresh ---------------------------------------------------------------------------


def background() -> bool:
    """Whether a worker computes the figures after a save (Redis and Celery are configured);
    in embedded mode Celery runs tasks inline and the page computes its figures itself."""
    return bool(settings.REDIS_URL) and not settings.CELERY_TASK_ALWAYS_EAGER


_clients: dict = {}


def _redis():
    import redis

    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
    return _clients[url]


def _asked_key() -> str:
    return f"insights:asked:{_database()}"


def _queued_key() -> str:
    return f"insights:refresh-queued:{_database()}"


def _pending_key() -> str:
    return f"insights:refresh-pending:{_database()}"


def remember(user, asked: dict) -> None:
    """Remember that this reader asked for these filters in their time zone (bounded, expiring)."""
    if not getattr(user, "pk", None):
        return
    member = json.dumps(
        {"user": user.pk, "tz": timezone.get_current_timezone_name(), "filters": asked},
        sort_keys=True,
    )
    now = time.time()
    try:
        with _redis().pipeline() as pipe:
            pipe.zadd(_asked_key(), {member: now})
            pipe.zremrangebyscore(_asked_key(), "-inf", now - ASKED_FOR.total_seconds())
            pipe.zremrangebyrank(_asked_key(), 0, -ASKED_MAX - 1)
            pipe.expire(_asked_key(), int(ASKED_FOR.total_seconds()))
            pipe.execute()
    except Exception as error:  # noqa: BLE001 - remembering is an optimisation only
        logger.warning("insights: could not remember what was asked for: %s", error)


def asked_for() -> list[dict]:
    """The combinations asked for recently, newest first."""
    return [json.loads(m) for m in _redis().zrevrange(_asked_key(), 0, ASKED_MAX - 1)]


def queue_refresh(*, saved: bool = True) -> None:
    """Queue one refresh `REFRESH_DELAY` from now, unless one is queued and not yet started.

    After a save (`saved`), earlier figures may be shown for `UPDATING_FOR`; a reader asking
    for a combination the refresh missed queues one without making that time any longer."""
    from insights.tasks import refresh_figures

    if saved:
        cache.set(_pending_key(), time.time(), timeout=UPDATING_FOR.total_seconds())
    if not cache.add(_queued_key(), 1, timeout=UPDATING_FOR.total_seconds()):
        return
    try:
        refresh_figures.apply_async(countdown=REFRESH_DELAY.total_seconds())
    except Exception as error:  # noqa: BLE001 - the broker is down: readers compute inline
        logger.warning("insights: could not queue the refresh: %s", error)
        cache.delete_many([_queued_key(), _pending_key()])  # readers compute the figures


def forget_refresh(*, asked: bool = True) -> None:
    """No refresh queued or pending, and (`asked`) nothing remembered as asked for."""
    cache.delete_many([_queued_key(), _pending_key()])
    if asked and background():
        _redis().delete(_asked_key())


def refresh() -> int:
    """Compute, under the current version, the figures asked for recently; returns how many
    combinations were looked at. A save during this queues the next refresh."""
    from django.contrib.auth import get_user_model

    from insights.forms import InsightsFilterForm

    cache.delete(_queued_key())
    asked = asked_for()
    users = get_user_model().objects.filter(is_active=True).in_bulk({a["user"] for a in asked})
    done = 0
    for one in asked:
        user = users.get(one["user"])
        if user is None:
            continue
        try:
            with timezone.override(one["tz"]):
                form = InsightsFilterForm(one["filters"] or None)
                if form.is_bound and not form.is_valid():
                    continue  # a team or service deleted since
                trend = form.trend()
                figures(user, trend[-1], trend, now=timezone.now(), **form.scope())
        except Exception:  # one combination failing leaves the others warm
            logger.exception("insights: could not refresh %s", one)
            continue
        done += 1
    return done
