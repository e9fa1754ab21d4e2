"""Calm error pages: a sentence in words and a way back, never a stack trace."""

from __future__ import annotations

from django.shortcuts import render


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


def server_error(request):
    return _error(
        request,
        500,
        "Something went wrong on our side",
        "The error has been logged. Your last saved change is safe; try again.",
    )
