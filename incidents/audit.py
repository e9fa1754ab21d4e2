"""The audit log: who changed who may see or do what, and who looked where only admins may."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from incidents.models import AuditEntry

Action = AuditEntry.Action
# An admin reading a private incident makes many requests (page, stream, polls): one entry
# per incident per admin in this window is the record that matters.
ADMIN_VIEW_WINDOW = timedelta(minutes=30)


def audit(actor, action: str, target, detail: str = "") -> AuditEntry:
    """Write one entry. `target` is anything with a useful str(); `actor` may be None."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user, action=action, target=str(target)[:200], detail=detail
    )


def audit_admin_view(user, incident, what: str = "") -> None:
    """Record an admin reading a private incident they are not otherwise on, once a window."""
    target = str(incident)[:200]
    recent = AuditEntry.objects.filter(
        actor=user,
        action=Action.ADMIN_VIEWED_PRIVATE,
        target=target,
        at__gt=timezone.now() - ADMIN_VIEW_WINDOW,
    )
    if not recent.exists():
        audit(user, Action.ADMIN_VIEWED_PRIVATE, target, what)
