"""Small text helpers every page shares: a person's name, and text cut at a word."""

from __future__ import annotations

ELLIPSIS = "…"


def display_name(user) -> str:
    """How a person is named on every page, message and event: full name, else username."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def initials(user) -> str:
    parts = display_name(user).split()
    return "".join(part[0] for part in parts[:2]).upper() or "?"


def shorten(text: str, width: int) -> str:
    """`text` on one line, cut at the last word that fits in `width`, with an ellipsis.

    A single word longer than the width is cut inside it, since there is no boundary to use.
    """
    line = " ".join((text or "").split())
    if len(line) <= width:
        return line
    room = width - len(ELLIPSIS)
    # One character more than fits shows whether the last word ends right at the limit.
    cut = line[: room + 1]
    cut = cut[: cut.rindex(" ")] if " " in cut else line[:room]
    return cut.rstrip(" ,;:.-–—") + ELLIPSIS
