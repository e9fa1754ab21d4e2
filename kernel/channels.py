"""The transports Hindsight reaches people by: e-mail and Slack incoming webhooks.

Each transport is one small function that either delivers or raises ChannelError, which says
whether trying again later can help. The delivery engine (kernel/delivery.py) decides about
retries; nothing here logs a secret (a webhook URL is a secret: only its host is ever logged).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from email.message import MIMEPart
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

logger = logging.getLogger(__name__)
SLACK_TIMEOUT_SECONDS = 10


class ChannelError(Exception):
    """A message that did not go out; `retryable` says whether the same try later may work."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def one_line(text: str) -> str:
    """A header value on one line: an incident title pasted with a line break stays one subject.

    Django refuses a header holding CR or LF (it would let text inject headers), so a subject
    built from what people typed is folded here rather than failing the whole e-mail.
    """
    return " ".join(text.split())


def attachment_part(attachment) -> MIMEPart:
    """One attached file as a MIME part, its media type's parameters kept.

    Calendar invitations need `text/calendar; method=REQUEST` as is: mail programs read the
    method to show "accept / decline" rather than a plain file.
    """
    maintype, _, rest = attachment.mimetype.partition("/")
    subtype, *pairs = (piece.strip() for piece in rest.split(";"))
    params = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    part = MIMEPart()
    if maintype == "text":
        part.set_content(
            attachment.content.decode(),
            subtype=subtype,
            disposition="attachment",
            filename=attachment.filename,
            params=params,
        )
    else:
        part.set_content(
            attachment.content,
            maintype,
            subtype,
            disposition="attachment",
            filename=attachment.filename,
            params=params,
        )
    return part


def send_email(
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    cc: list[str] | None = None,
    attachments: tuple = (),
) -> None:
    """Send one e-mail with a plain-text body and, when given, an HTML alternative and files.

    Each attachment has `filename`, `content` (bytes) and `mimetype` (parameters allowed).
    """
    message = EmailMultiAlternatives(
        subject=one_line(subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        cc=cc or [],
    )
    if html:
        message.attach_alternative(html, "text/html")
    for attachment in attachments:
        message.attach(attachment_part(attachment))
    try:
        message.send()
    except OSError as error:  # SMTP connection problems are socket errors
        raise ChannelError(
            f"e-mail to {len(to)} recipient(s) failed: {error}", retryable=True
        ) from error


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup; anything people typed is escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def outbound_url_refusal(
    url: str,
    *,
    what: str = "A webhook URL",
    allowed_hosts: list[str] | None = None,
    allow_local_test_server: bool = False,
) -> str | None:
    """Why Hindsight may not send to `url`, in words; None when it may.

    It must be https (to one of `allowed_hosts`, when given) with no credentials in it, and
    the host must not resolve to a private, loopback, link-local or otherwise internal
    address, so that a setting people type can never make Hindsight post to something inside
    the network. `allow_local_test_server` (a test-suite setting) lets 127.0.0.1 through.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "This is not a valid URL."
    if allow_local_test_server and host == "127.0.0.1":
        return None
    if parts.scheme != "https":
        return f"{what} must start with https://."
    if parts.username or parts.password:
        return f"{what} carries no user name or password."
    if allowed_hosts is not None:
        allowed = [name.lower() for name in allowed_hosts]
        if host not in allowed:
            return f"{what} must be at {' or '.join(allowed)}, not {host or 'no host'}."
    if not host:
        return f"{what} needs a host name."
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443)}
    except (OSError, UnicodeError):
        return f"{host} cannot be found."
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return f"{host} points to an internal address ({ip}); Hindsight will not post there."
    return None


def slack_webhook_refusal(url: str) -> str | None:
    """Why `url` may not be used as a Slack webhook: https to one of HINDSIGHT_SLACK_HOSTS."""
    return outbound_url_refusal(
        url,
        what="A Slack webhook URL",
        allowed_hosts=settings.HINDSIGHT_SLACK_HOSTS,
        allow_local_test_server=settings.HINDSIGHT_SLACK_ALLOW_LOCAL_TEST_SERVER,
    )


def post_slack(*, webhook_url: str, payload: dict) -> None:
    """POST a message to a Slack incoming webhook, after checking the URL is still safe."""
    host = urlsplit(webhook_url).hostname or "?"
    refusal = slack_webhook_refusal(webhook_url)
    if refusal:
        raise ChannelError(f"Slack webhook at {host} refused: {refusal}", retryable=False)
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        # 4xx means the webhook is wrong or revoked: retrying the same request cannot help.
        retryable = error.code >= 500 or error.code == 429
        raise ChannelError(
            f"Slack webhook at {host} answered {error.code}", retryable=retryable
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ChannelError(
            f"Slack webhook at {host} unreachable: {reason}", retryable=True
        ) from None


class EmailChannel:
    """E-mail to the addresses a delivery holds: {"to": [...], "cc": [...]}."""

    name = "email"
    label = "E-mail"

    def send(self, delivery, message) -> None:
        to = delivery.address.get("to") or []
        if not to:
            raise ChannelError("no e-mail address to send to", retryable=False)
        send_email(
            to=to,
            cc=delivery.address.get("cc") or [],
            subject=message.subject,
            text=message.text,
            html=message.html or None,
            attachments=message.attachments,
        )

    def describe(self, address: dict) -> str:
        where = ", ".join(address.get("to") or []) or "nobody"
        cc = address.get("cc") or []
        return f"{where} by e-mail" + (f", copying {', '.join(cc)}" if cc else "")
