"""The `/api/v1/` URL patterns: every router on the one API, outside the page login."""

from __future__ import annotations

from api.core import api
from api.endpoints import action_items, alerts, documents, incidents, share_links

api.add_router("", incidents.router)
api.add_router("", documents.router)
api.add_router("", action_items.router)
api.add_router("", share_links.router)
api.add_router("", alerts.router)


def _api_patterns():
    patterns, app_name, namespace = api.urls
    # The API answers 401 in JSON to a missing token; the page login redirect must not apply.
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace


api_urls = _api_patterns()
