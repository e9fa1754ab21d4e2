"""Show times in the viewer's own timezone, which the browser reports in a cookie."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.signals import user_logged_in
from django.utils import timezone

TIMEZONE_COOKIE = "tz"


class ViewerTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get(TIMEZONE_COOKIE, "")
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class IdleSessionMiddleware:
    """End a session after HINDSIGHT_SESSION_IDLE_MINUTES without the person doing anything.

    SESSION_COOKIE_AGE is the idle time; each request a person makes moves the session's
    expiry (and its cookie's) that far ahead again. Requests an open page makes by itself
    (the event stream, polling for changes, presence heartbeats) do not count, or a tab left
    open would keep a session alive forever. The session is written at most once a minute.
    """

    BACKGROUND_URL_NAMES = frozenset(
        {"document-events", "document-changes", "presence", "presence-leave"}
    )
    TOUCH_KEY = "_active_at"
    TOUCH_EVERY_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    @classmethod
    def start_clock(cls, sender, request, user, **kwargs) -> None:
        """On signing in, so the first page after it does not write the session again."""
        if hasattr(request, "session"):
            request.session[cls.TOUCH_KEY] = int(timezone.now().timestamp())

    def __call__(self, request):
        response = self.get_response(request)
        if self._counts_as_activity(request):
            now = int(timezone.now().timestamp())
            last = request.session.get(self.TOUCH_KEY, 0)
            if not isinstance(last, int) or now - last >= self.TOUCH_EVERY_SECONDS:
                request.session[self.TOUCH_KEY] = now
        return response

    def _counts_as_activity(self, request) -> bool:
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated):
            return False
        match = request.resolver_match
        if match and match.url_name in self.BACKGROUND_URL_NAMES:
            return False
        return "text/event-stream" not in request.headers.get("Accept", "")


# Connected here, where the middleware lives: it is loaded with the request handler, before any
# sign-in request can be served.
user_logged_in.connect(IdleSessionMiddleware.start_clock, dispatch_uid="idle-session-start-clock")
