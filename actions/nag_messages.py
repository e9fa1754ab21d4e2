"""What a reminder digest says: an e-mail (plain text and HTML) and a Slack message."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from actions.models import Nag, NagLine
from incidents.models import Team

# Where `make run` serves, for links sent from a development machine without a base URL set.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"


def absolute(path: str) -> str:
    """A link that works from an inbox or a Slack channel, not only inside the app."""
    return (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/") + path


def line_team_id(line: NagLine) -> int | None:
    if line.action_item_id:
        return line.action_item.team_id or line.action_item.incident.team_id
    return line.postmortem.incident.team_id


def _entry(line: NagLine) -> dict:
    """One line of a digest, with everything a message shows about it."""
    if line.action_item_id:
        item = line.action_item
        return {
            "line": line,
            "item": item,
            "incident": item.incident,
            "url": absolute(item.get_absolute_url()),
        }
    incident = line.postmortem.incident
    return {"line": line, "incident": incident, "url": absolute(incident.get_absolute_url())}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(items: list, postmortems: list) -> str:
    parts = []
    if items:
        parts.append(_plural(len(items), "overdue action item"))
    if postmortems:
        parts.append(_plural(len(postmortems), "postmortem") + " to follow up")
    return " and ".join(parts)


def _split(lines: list[NagLine]) -> tuple[list[dict], list[dict]]:
    items = [_entry(line) for line in lines if line.action_item_id]
    postmortems = [_entry(line) for line in lines if line.postmortem_id]
    return items, postmortems


def digest_email(*, nag: Nag, lines: list[NagLine], cc: list[str]) -> dict[str, str]:
    items, postmortems = _split(lines)
    context = {
        "recipient": nag.recipient,
        "items": items,
        "postmortems": postmortems,
        "cc": cc,
        "escalated": any(entry["line"].escalated for entry in items),
        "preferences_url": absolute(reverse("nag-preferences")),
        "review_url": absolute(reverse("action-review")),
    }
    return {
        "subject": f"Hindsight: {_summary(items, postmortems)}",
        "text": render_to_string("actions/nag_email.txt", context),
        "html": render_to_string("actions/nag_email.html", context),
    }


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup; anything people typed is escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def digest_slack(*, nag: Nag, lines: list[NagLine], team: Team) -> dict:
    """The part of a digest about one team's work, for that team's channel."""
    items, postmortems = _split([line for line in lines if line_team_id(line) == team.pk])
    person = nag.recipient.get_full_name() or nag.recipient.get_username()
    text = [f"*Reminder for {slack_escape(person)}*: {_summary(items, postmortems)}."]
    for entry in items:
        item, line = entry["item"], entry["line"]
        late = _plural(line.days_late, "day")
        flag = " · lead copied" if line.escalated else ""
        text.append(
            f"• <{entry['url']}|{slack_escape(item.title)}> ({entry['incident'].ref}, "
            f"{item.short_priority}) is {late} overdue{flag}"
        )
    for entry in postmortems:
        line, incident = entry["line"], entry["incident"]
        if line.reason == NagLine.Reason.DRAFT_OVERDUE:
            what = f"draft is {_plural(line.days_late, 'day')} past its due date"
        else:
            what = f"resolved {_plural(line.days_late, 'day')} ago, no review meeting recorded"
        text.append(f"• <{entry['url']}|{incident.ref} {slack_escape(incident.title)}>: {what}")
    text.append(f"<{absolute(reverse('action-review'))}?team={team.pk}|Open the weekly review>")
    return {"text": "\n".join(text)}
