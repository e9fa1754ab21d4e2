from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from api.tokens import api_token_create


class ApiClient:
    """A client that speaks JSON with a bearer token, as a script would."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body=None, **headers):
        kwargs = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def get(self, path, params=None, **headers):
        return self.client.get(f"/api/v1{path}", params or {}, headers={**self.headers, **headers})

    def post(self, path, body=None, **headers):
        return self._send("post", path, body if body is not None else {}, **headers)

    def put(self, path, body, **headers):
        return self._send("put", path, body, **headers)

    def patch(self, path, body, **headers):
        return self._send("patch", path, body, **headers)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


@pytest.fixture
def writer(owner):
    return ApiClient(api_token_create(user=owner, name="script", scope="write")[1])


@pytest.fixture
def reader(owner):
    return ApiClient(api_token_create(user=owner, name="dashboard", scope="read")[1])
