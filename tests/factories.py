"""Small builders for test data; each returns a saved row with sensible defaults."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.contrib.auth import get_user_model
from django.utils import timezone

from actions.models import ActionItem
from incidents.models import Incident, Service, Severity, Team, TimelineEntry
from incidents.opening import incident_open
from postmortems.models import AcceptedRisk, Cause, Image, Section, Why

_numbers = count(1)
PASSWORD = "correct horse battery staple"


def user(username: str | None = None, **fields):
    username = username or f"user{next(_numbers)}"
    fields.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)


def team(name: str | None = None, **fields) -> Team:
    name = name or f"Team {next(_numbers)}"
    return Team.objects.create(name=name, slug=name.lower().replace(" ", "-"), **fields)


def service(name: str | None = None, team_: Team | None = None) -> Service:
    name = name or f"service-{next(_numbers)}"
    return Service.objects.create(name=name, slug=name, team=team_ or team())


def severity(level: int) -> Severity:
    """The severity of that level; transactional tests flush the migration's defaults."""
    return Severity.objects.get_or_create(
        level=level, defaults={"meaning": f"Severity {level}", "full_postmortem": level <= 2}
    )[0]


def incident(*, owner=None, level: int = 1, title: str | None = None, services=(), **fields):
    fields.setdefault("started_at", timezone.now() - timedelta(hours=2))
    opened = Incident(
        title=title or f"Checkout failing {next(_numbers)}",
        severity=severity(level),
        owner=owner,
        **fields,
    )
    return incident_open(
        incident=opened, services=services, responders=[owner] if owner else [], user=owner
    )


def timeline_entry(
    incident_: Incident,
    *,
    minutes: int = 0,
    text: str = "Something happened",
    kind: str = TimelineEntry.Kind.NOTE,
    user=None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident_,
        occurred_at=incident_.started_at + timedelta(minutes=minutes),
        kind=kind,
        text=text,
        added_by=user,
    )


def cause(incident_: Incident, statement: str = "The pool ran dry", whys: int = 0) -> Cause:
    made = Cause.objects.create(postmortem=incident_.postmortem, statement=statement)
    for position in range(whys):
        Why.objects.create(
            cause=made,
            position=position,
            question=f"Why {position + 1}?",
            answer=f"Because {position + 1}",
        )
    return made


def accepted_risk(cause_: Cause, **fields) -> AcceptedRisk:
    fields.setdefault("reason", "Too rare to be worth a second region this year")
    fields.setdefault("revisit_on", timezone.localdate() + timedelta(days=90))
    if "accepted_by" not in fields:
        fields["accepted_by"] = cause_.postmortem.incident.owner or user()
    return AcceptedRisk.objects.create(cause=cause_, **fields)


def action_item(incident_: Incident, **fields) -> ActionItem:
    fields.setdefault("title", f"Fix thing {next(_numbers)}")
    return ActionItem.objects.create(incident=incident_, **fields)


def publishable(incident_: Incident, action_owner) -> Incident:
    """Write a full (SEV1-SEV2) postmortem with everything it needs to be published."""
    sections = {
        "summary": "Checkout failed for 47 minutes after a pool change.",
        "impact": "12% of checkouts failed; 3,400 customers saw an error.",
        "business-impact": "About 40k EUR of orders were delayed.",
        "aftercare": "Affected customers got a voucher.",
        "root-cause": "The pool was sized for last year's traffic.",
        "went-well": "Paging worked; Marcus was on it in two minutes.",
    }
    for key, body in sections.items():
        incident_.postmortem.sections.filter(key=key).update(body=body)
    timeline_entry(
        incident_,
        minutes=50,
        kind=TimelineEntry.Kind.RESOLUTION,
        text="Checkout error rate back to normal",
    )
    incident_.status = Incident.Status.RESOLVED
    incident_.resolved_at = incident_.resolved_at or incident_.started_at + timedelta(minutes=50)
    incident_.save(update_fields=["status", "resolved_at"])
    ran_dry = cause(incident_, "The connection pool ran dry under peak load", whys=2)
    action_item(
        incident_,
        cause=ran_dry,
        title="Alert on pool saturation",
        owner=action_owner,
        due_date=timezone.localdate() + timedelta(days=14),
    )
    return incident_


def image(incident_: Incident, *, key: str = "impact", caption: str = "", **host) -> Image:
    """An image row shown with a section, or with the block `host` names (entry=, why=); its
    files are named, not written (uploads are tested through the upload view, against real
    storage)."""
    host = host or {"section": Section.objects.get(postmortem__incident=incident_, key=key)}
    return Image.objects.create(
        postmortem=incident_.postmortem,
        file="images/test.png",
        thumbnail="thumbnails/test.webp",
        format=Image.Format.PNG,
        width=640,
        height=360,
        size=1000,
        caption=caption,
        **host,
    )


def premortem(*, facilitator, team_: Team, participants=(), **fields):
    """A premortem in its writing phase, its time-box running."""
    from premortems.rounds import premortem_create

    fields.setdefault("title", f"Planned change {next(_numbers)}")
    fields.setdefault("planned_for", timezone.localdate() + timedelta(days=7))
    return premortem_create(
        user=facilitator, facilitator=facilitator, team=team_, participants=participants, **fields
    )
