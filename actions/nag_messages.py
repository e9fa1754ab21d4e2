"""What a reminder digest says: an e-mail (plain text and HTML) and a Slack message.

A digest's lines are read as plain values with one query per batch of digests and turned into
ready-to-show entries here, so the templates only print: ten thousand digests a morning must
not cost a model instance and a template lookup chain per field.
"""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from actions.models import ActionItem, NagLine, ticket_key
from incidents.models import REF_PREFIX, Team
from kernel.channels import slack_escape

# Where `make run` serves, for links sent from a development machine without a base URL set.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"
LINE_VALUES = (
    "nag_id", "reason", "days_late", "escalated", "action_item_id", "action_item__title",
    "action_item__priority", "action_item__due_date", "action_item__recheck_on",
    "action_item__ticket_url",
    "action_item__team_id", "action_item__incident__number", "action_item__incident__title",
    "action_item__incident__team_id", "postmortem__incident__number",
    "postmortem__incident__title", "postmortem__incident__team_id",
    "action_item__incident__private", "postmortem__incident__private",
    "action_item__premortem__title", "action_item__premortem__team_id",
    "action_item__premortem__private",
)  # fmt: skip


def absolute(path: str) -> str:
    """A link that works from an inbox or a Slack channel, not only inside the app."""
    return (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/") + path


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def digest_entries(nag_ids: list[int]) -> dict[int, list[dict]]:
    """Every line of these digests, ready to show, by nag id: one query."""
    # Reversed once, not once per line: "https://host/actions/" for "https://host/actions/0/".
    item_url = absolute(reverse("action-item", args=[0])).removesuffix("0/")
    entries: dict[int, list[dict]] = defaultdict(list)
    rows = NagLine.objects.filter(nag_id__in=nag_ids).order_by("pk").values_list(*LINE_VALUES)
    for (nag_id, reason, days_late, escalated, item_id, title, priority, due_date, recheck_on,
         ticket_url,
         item_team, item_number, item_incident, item_incident_team, pm_number, pm_title,
         pm_team, item_private, pm_private, premortem_title, premortem_team,
         premortem_private) in rows:  # fmt: skip
        if item_id and item_number is None:
            # A preventive item of a premortem: what it follows up is the planned change.
            entries[nag_id].append({
                "reason": reason,
                "title": title,
                "url": f"{item_url}{item_id}/",
                "ref": "Premortem",
                "incident": f"Premortem: {premortem_title}",
                "priority": f"P{priority}",
                "priority_label": ActionItem.Priority(priority).label,
                "due": due_date.isoformat() if due_date else "",
                "recheck_on": recheck_on.isoformat() if recheck_on else "",
                "late": plural(days_late, "day"),
                "ticket_url": ticket_url,
                "ticket_key": ticket_key(ticket_url),
                "escalated": escalated,
                "team_id": item_team or premortem_team,
                "private": premortem_private,
            })  # fmt: skip
        elif item_id:
            entries[nag_id].append({
                "reason": reason,
                "title": title,
                "url": f"{item_url}{item_id}/",
                "ref": f"{REF_PREFIX}{item_number}",
                "incident": f"{REF_PREFIX}{item_number} {item_incident}",
                "priority": f"P{priority}",
                "priority_label": ActionItem.Priority(priority).label,
                "due": due_date.isoformat() if due_date else "",
                "recheck_on": recheck_on.isoformat() if recheck_on else "",
                "late": plural(days_late, "day"),
                "ticket_url": ticket_url,
                "ticket_key": ticket_key(ticket_url),
                "escalated": escalated,
                "team_id": item_team or item_incident_team,
                "private": item_private,
            })  # fmt: skip
        else:
            ref = f"{REF_PREFIX}{pm_number}"
            entries[nag_id].append({
                "reason": reason,
                "title": f"{ref} {pm_title}",
                "url": absolute(reverse("document", args=[ref])),
                "late": plural(days_late, "day"),
                "team_id": pm_team,
                "private": pm_private,
            })  # fmt: skip
    return entries


def _summary(items: list, rechecks: list, postmortems: list) -> str:
    parts = []
    if items:
        parts.append(plural(len(items), "overdue action item"))
    if rechecks:
        parts.append(plural(len(rechecks), "re-check") + " due")
    if postmortems:
        parts.append(plural(len(postmortems), "postmortem") + " to follow up")
    return " and ".join(parts)


def _split(entries: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """Overdue items, items due a re-check, and postmortems waiting."""
    by_reason = {NagLine.Reason.OVERDUE: [], NagLine.Reason.RECHECK: []}
    postmortems = []
    for entry in entries:
        by_reason.get(entry["reason"], postmortems).append(entry)
    return by_reason[NagLine.Reason.OVERDUE], by_reason[NagLine.Reason.RECHECK], postmortems


def digest_email(*, recipient, entries: list[dict], cc: list[str]) -> dict[str, str]:
    items, rechecks, postmortems = _split(entries)
    context = {
        "name": recipient.first_name or recipient.get_username(),
        "items": items,
        "rechecks": rechecks,
        "postmortems": postmortems,
        "cc": ", ".join(cc),
        "preferences_url": absolute(reverse("nag-preferences")),
        "review_url": absolute(reverse("action-review")),
    }
    return {
        "subject": f"Hindsight: {_summary(items, rechecks, postmortems)}",
        "text": render_to_string("actions/nag_email.txt", context),
        "html": render_to_string("actions/nag_email.html", context),
    }


def digest_slack(*, recipient, entries: list[dict], team: Team) -> dict:
    """The part of a digest about one team's work, for that team's channel."""
    mine = [entry for entry in entries if entry["team_id"] == team.pk]
    items, rechecks, postmortems = _split(mine)
    person = recipient.get_full_name() or recipient.get_username()
    summary = _summary(items, rechecks, postmortems)
    text = [f"*Reminder for {slack_escape(person)}*: {summary}."]
    for entry in items:
        flag = " · lead copied" if entry["escalated"] else ""
        if entry["private"]:
            # A channel is wider than a private incident's audience: no title, no reference.
            link = f"<{entry['url']}|An action item of a private incident>"
            text.append(f"• {link} is {entry['late']} overdue{flag}")
            continue
        text.append(
            f"• <{entry['url']}|{slack_escape(entry['title'])}> "
            f"({entry['ref']}, {entry['priority']}) "
            f"is {entry['late']} overdue{flag}"
        )
    for entry in rechecks:
        text.append(
            f"• <{entry['url']}|{slack_escape(entry['title'])}> ({entry['ref']}): done, "
            f"re-check due since {entry['recheck_on']} — is it still working?"
        )
    for entry in postmortems:
        if entry["reason"] == NagLine.Reason.DRAFT_OVERDUE:
            what = f"draft is {entry['late']} past its due date"
        else:
            what = f"resolved {entry['late']} ago, no review meeting recorded"
        title = "A private incident" if entry["private"] else slack_escape(entry["title"])
        text.append(f"• <{entry['url']}|{title}>: {what}")
    text.append(f"<{absolute(reverse('action-review'))}?team={team.pk}|Open the weekly review>")
    return {"text": "\n".join(text)}
