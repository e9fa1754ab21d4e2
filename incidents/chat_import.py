"""Reading a chat into timeline lines: a Slack channel export (JSON), a thread copied from
Slack or Teams, or any transcript with a time on each message.

Parsing only; nothing here writes. Each line gets a stable key (Slack's message ts, or a hash
of time, author and text) so the same message imported twice is recognised, and a reason when
it is noise (a bot, someone joining) that is left out unless the person ticks it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_LINES = 2000
NOISE_SUBTYPES = {
    "channel_join": "joined the channel",
    "channel_leave": "left the channel",
    "channel_topic": "changed the topic",
    "channel_purpose": "changed the purpose",
    "channel_name": "renamed the channel",
    "bot_message": "a bot",
    "bot_add": "a bot",
    "pinned_item": "pinned a message",
}
NOISE_TEXT = re.compile(
    r"^(?:has )?(?:joined|left)(?: the channel| the conversation| #\S+)?\.?$"
    r"|^(?:set|changed) the channel (?:topic|purpose|description)"
    r"|^added .+ to the (?:channel|conversation|team)",
    re.IGNORECASE,
)
BOT_NAME = re.compile(r"\b(?:bot|app|integration)\b|\[bot\]", re.IGNORECASE)

CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?"
STAMP = rf"(?:\d{{4}}-\d{{2}}-\d{{2}}[ T])?{CLOCK}(?:Z|[+-]\d{{2}}:?\d{{2}})?"
# "14:02 Priya: text", "[2026-11-30 14:02:11] <priya> text", "[14:02] Priya Raman: text"
TRANSCRIPT = re.compile(
    rf"^\[?(?P<stamp>{STAMP})\]?\s*[-–]?\s*(?:<(?P<nick>[^>]{{1,80}})>|(?P<name>[^:\n]{{1,80}}?):)\s*(?P<text>.*)$"
)
# Slack's copied thread: "Priya Raman  2:14 PM" (or "[2:14 PM]"), the message on the lines below.
HEADER_AFTER = re.compile(
    rf"^(?P<name>[^\[\]\d:][^\[\]:]{{0,79}}?)\s*,?\s+\[?(?P<stamp>{STAMP})\]?$"
)
# Teams' copied thread: "[14:14] Priya Raman" with the message below.
HEADER_BEFORE = re.compile(rf"^\[(?P<stamp>{STAMP})\]\s+(?P<name>[^:\n]{{1,80}})$")
SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
SLACK_BARE = re.compile(r"<(https?://[^|>]+)>")
SLACK_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
SLACK_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")


# A JSON object, or a list of objects; "[14:02] Priya: ..." is a transcript.
LOOKS_LIKE_JSON = re.compile(r"^\s*(?:\{|\[\s*(?:\{|\]))")


class ChatFormatError(ValueError):
    """The text could not be read as a chat; the message says why, in words."""


@dataclass
class ChatLine:
    key: str
    when: datetime
    author: str
    text: str
    noise: str = ""  # why it is left out by default, or empty

    @property
    def entry_text(self) -> str:
        return f"{self.author}: {self.text}" if self.author else self.text


def _hash_key(when: datetime, author: str, text: str) -> str:
    digest = hashlib.sha256(f"{when.isoformat()}|{author}|{text}".encode()).hexdigest()
    return f"text:{digest[:40]}"


def _clean(text: str) -> str:
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip()


# Slack channel export --------------------------------------------------------------------


def _slack_text(text: str, names: dict[str, str]) -> str:
    text = SLACK_LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = SLACK_BARE.sub(lambda m: m.group(1), text)
    text = SLACK_MENTION.sub(
        lambda m: "@" + (m.group(2) or names.get(m.group(1), m.group(1))), text
    )
    text = SLACK_CHANNEL.sub(lambda m: "#" + m.group(1), text)
    text = SLACK_SPECIAL.sub(lambda m: "@" + m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _slack_name(message: dict) -> str:
    profile = message.get("user_profile") or {}
    bot = message.get("bot_profile") or {}
    return str(
        profile.get("real_name")
        or profile.get("display_name")
        or message.get("username")
        or bot.get("name")
        or message.get("user")
        or "Someone"
    )


def parse_slack_export(messages: list) -> list[ChatLine]:
    """One day's file of a Slack channel export: a JSON list of messages."""
    names = {
        str(m["user"]): _slack_name(m)
        for m in messages
        if isinstance(m, dict) and m.get("user") and m.get("user_profile")
    }
    lines = []
    for message in messages:
        if not isinstance(message, dict) or message.get("type", "message") != "message":
            continue
        try:
            when = datetime.fromtimestamp(float(message["ts"]), tz=UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            continue
        subtype = str(message.get("subtype") or "")
        noise = NOISE_SUBTYPES.get(subtype, "")
        if not noise and (message.get("bot_id") or message.get("bot_profile")):
            noise = "a bot"
        text = _clean(_slack_text(str(message.get("text") or ""), names))
        for file in message.get("files") or []:
            if isinstance(file, dict) and file.get("name"):
                text += f"\n[file: {file['name']}]"
        if not text:
            continue
        key = f"slack:{message.get('channel', '')}:{message['ts']}"
        lines.append(
            ChatLine(key=key[:200], when=when, author=_slack_name(message), text=text, noise=noise)
        )
    return lines


# Copied threads and transcripts ----------------------------------------------------------


def _clock(stamp: str, day: date, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The moment a stamp names, and whether it carried its own date."""
    stamp = stamp.strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", stamp):
        moment = datetime.fromisoformat(stamp.replace(" ", "T").replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment, True
    match = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])?", stamp)
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    half = (match.group(4) or "").lower()
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    return datetime.combine(day, time(hour, minute, second), tzinfo=zone), False


def _noise_of(author: str, text: str) -> str:
    if NOISE_TEXT.match(text.strip()):
        return "joined or left"
    if BOT_NAME.search(author):
        return "a bot"
    return ""


def parse_transcript(raw: str, *, zone: ZoneInfo, day: date) -> list[ChatLine]:
    """Messages with a time each; times without a date fall on `day`, rolling past midnight."""
    messages: list[list] = []  # [stamp, author, text lines]
    for line in raw.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        found = TRANSCRIPT.match(stripped)
        if found:
            author = found.group("nick") or found.group("name") or ""
            messages.append([found.group("stamp"), author.strip(), [found.group("text")]])
            continue
        header = HEADER_BEFORE.match(stripped) or HEADER_AFTER.match(stripped)
        if header:
            messages.append([header.group("stamp"), header.group("name").strip(), []])
            continue
        if messages:
            messages[-1][2].append(stripped)
    lines: list[ChatLine] = []
    rollover = timedelta(0)
    previous: datetime | None = None
    for stamp, author, text_lines in messages:
        try:
            when, dated = _clock(stamp, day, zone)
        except (ValueError, OverflowError):
            continue
        if not 1970 <= when.year <= 2999:
            continue
        if not dated:
            when += rollover
            if previous is not None and when < previous - timedelta(hours=1):
                # A clock earlier than the last message: the chat went past midnight.
                rollover += timedelta(days=1)
                when += timedelta(days=1)
        previous = when
        text = _clean("\n".join(text_lines))
        if not text:
            continue
        lines.append(
            ChatLine(
                key=_hash_key(when, author, text),
                when=when,
                author=author,
                text=text,
                noise=_noise_of(author, text),
            )
        )
    return lines


def parse_chat(raw: str, *, zone: ZoneInfo, day: date) -> list[ChatLine]:
    """Whatever was pasted or uploaded: a Slack export if it is JSON, else a transcript."""
    raw = raw.replace("\x00", "").lstrip("\ufeff")
    if LOOKS_LIKE_JSON.match(raw):
        try:
            data = json.loads(raw)
        except ValueError:
            raise ChatFormatError(
                "This looks like JSON but is not valid JSON. Paste one day's file of a Slack "
                "channel export as it is."
            ) from None
        if isinstance(data, dict):
            data = data.get("messages", [])
        if not isinstance(data, list):
            raise ChatFormatError("A Slack export file is a list of messages.")
        lines = parse_slack_export(data)
    else:
        lines = parse_transcript(raw, zone=zone, day=day)
    if not lines:
        raise ChatFormatError(
            "No messages with a time were found. Each message needs a time, such as "
            "“14:02 Priya: restarted the pool” or Slack's “Priya Raman  2:14 PM” above it."
        )
    if len(lines) > MAX_LINES:
        raise ChatFormatError(f"That is more than {MAX_LINES:,} messages; import a part at a time.")
    return sorted(lines, key=lambda line: line.when)
