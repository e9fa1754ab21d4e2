"""The page a stakeholder link opens: no account, read-only, one postmortem and nothing else.

Nothing here sets a cookie, starts a session or accepts a POST; a link grants no access beyond
these two read-only responses.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from postmortems.share_links import (
    share_link_for_token,
    share_link_record_view,
    stakeholder_view,
)

PAGE = "postmortems/stakeholder.html"


def reader_headers(view):
    """Keep the page out of search engines, shared caches and other sites' referrer logs."""

    @wraps(view)
    def wrapped(request, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapped


def _gone(request, *, partial: bool) -> HttpResponse:
    return render(request, f"{PAGE}#gone" if partial else PAGE, {}, status=404)


def _context(token: str, view) -> dict:
    return {
        "token": token,
        "view": view,
        "document": view.document,
        "names_hidden": view.link.hide_names,
        "refresh_seconds": settings.HINDSIGHT_READER_REFRESH_SECONDS,
    }


@login_not_required
@reader_headers
@require_GET
def stakeholder(request, token: str):
    link = share_link_for_token(token)
    if link is None:
        return _gone(request, partial=False)
    view = stakeholder_view(link)
    share_link_record_view(link)
    return render(request, PAGE, _context(token, view))


@login_not_required
@reader_headers
@require_GET
def stakeholder_content(request, token: str):
    """The page's content, polled by the open page: 204 when nothing changed, 404 once revoked."""
    link = share_link_for_token(token)
    if link is None:
        return _gone(request, partial=True)
    view = stakeholder_view(link)
    if request.GET.get("seen") == view.fingerprint:
        return HttpResponse(status=204)
    return render(request, f"{PAGE}#content", _context(token, view))
