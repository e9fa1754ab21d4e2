"""Calm error pages: a sentence in words and a way back, never a stack trace."""

from __future__ import annotations

import sys

from django.shortcuts import render

BUSY_RETRY_SECONDS = 5


def _error(request, status: int, title: str, message: str):
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "status": status},
        status=status,
    )


def bad_request(request, exception=None):
    return _error(
        request,
        400,
        "That request could not be understood",
        str(exception or "")
        or "It may be too large or malformed. Go back and try again with less.",
    )


def permission_denied(request, exception=None):
    return _error(
        request,
        403,
        "Not allowed",
        str(exception or "") or "You do not have permission to do that. Ask the incident owner.",
    )


def page_not_found(request, exception=None):
    return _error(request, 404, "Not found", "There is nothing here. It may have been deleted.")


def _database_busy(error: BaseException | None) -> bool:
    """True when the error, or one it came from, is the connection pool running dry."""
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # SQLite, or PostgreSQL without the pool
        return False
    while error is not None:
        if isinstance(error, PoolTimeout):
            return True
        error = error.__cause__ or error.__context__
    return False


def server_error(request):
    # Django calls this inside its `except`, so the error being handled is still at hand.
    if _database_busy(sys.exc_info()[1]):
        # Every connection is taken: a crowd, not a fault. Ask the client to come back.
        response = _error(
            request,
            503,
            "The server is busy",
            "Every database connection is in use right now. Nothing was lost; try again "
            "in a few seconds.",
        )
        response["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response
    return _error(
        request,
        500,
        "Something went wrong on our side",
        "The error has been logged. Your last saved change is safe; try again.",
    )
