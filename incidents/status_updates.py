"""Sending a stakeholder status update beyond Hindsight: the summary e-mail list, team Slack.

One small function, on the shared channels, so that it can move onto the common delivery
mechanism (with its retries) without changing what is sent.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from incidents.models import StatusUpdate
from kernel.channels import ChannelError, post_slack, send_email, slack_escape

logger = logging.getLogger(__name__)


def status_update_message(update: StatusUpdate) -> tuple[str, str]:
    incident = update.incident
    subject = f"[{incident.severity.name}] {incident.ref} {incident.title}: status update"
    lines = [
        f"Status: {incident.get_status_display()} - {incident.status_meaning}",
        "",
        f"What we know: {update.known}",
        "",
        f"What we are doing: {update.doing}",
    ]
    if update.next_update_at:
        next_at = timezone.localtime(update.next_update_at)
        lines += ["", f"Next update by {next_at:%Y-%m-%d %H:%M} {next_at.tzname()}."]
    return subject, "\n".join(lines)


def status_update_deliver(update: StatusUpdate) -> list[str]:
    """Send a stakeholder update where it is configured to go; the errors, in words."""
    if not update.for_stakeholders:
        return []
    subject, text = status_update_message(update)
    errors = []
    if settings.HINDSIGHT_SUMMARY_EMAILS:
        try:
            send_email(to=list(settings.HINDSIGHT_SUMMARY_EMAILS), subject=subject, text=text)
        except ChannelError as error:
            errors.append(str(error))
    team = update.incident.team
    if team and team.slack_webhook_url:
        try:
            post_slack(
                webhook_url=team.slack_webhook_url,
                payload={"text": f"*{slack_escape(subject)}*\n{slack_escape(text)}"},
            )
        except ChannelError as error:
            errors.append(str(error))
    for error in errors:
        logger.warning("status update %s of %s: %s", update.pk, update.incident.ref, error)
    return errors
