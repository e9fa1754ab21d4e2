"""GitHub Issues, GitLab issues and Jira: filing a ticket, and reading what their webhooks say.

Each tracker is one small class registered with `kernel.trackers` in `ActionsConfig.ready()`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from django.conf import settings

from kernel.channels import outbound_url_refusal
from kernel.trackers import FiledTicket, TicketChange, TicketDraft, TrackerAccount, TrackerError

TIMEOUT_SECONDS = 15


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def tracker_url_refusal(url: str) -> str | None:
    return outbound_url_refusal(
        url,
        what="A tracker URL",
        allow_local_test_server=settings.HINDSIGHT_TRACKER_ALLOW_LOCAL_TEST_SERVER,
    )


def post_json(label: str, url: str, payload: dict, headers: dict[str, str]) -> dict:
    """POST JSON to a tracker's API and return its JSON answer, or raise TrackerError in words."""
    refusal = tracker_url_refusal(url)
    if refusal:
        raise TrackerError(f"{label} refused: {refusal}")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
    )
    host = urlsplit(url).hostname
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            answer = response.read(1_000_000)
    except urllib.error.HTTPError as error:
        reasons = {
            401: "the token was refused (check it, or whether it has expired)",
            403: "the token may not create issues in this project",
            404: "the project was not found (check its name, and that the token can see it)",
            410: "issues are switched off in this project",
            422: "the tracker refused the ticket's fields",
        }
        reason = reasons.get(error.code, "try again in a minute")
        raise TrackerError(f"{label} at {host} answered {error.code}: {reason}.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TrackerError(f"{label} at {host} could not be reached ({reason}).") from None
    try:
        return json.loads(answer)
    except ValueError:
        raise TrackerError(f"{label} at {host} answered something that is not JSON.") from None


def _api(account: TrackerAccount, path: str) -> str:
    return account.base_url.rstrip("/") + path


class GitHubIssues:
    name = "github"
    label = "GitHub Issues"
    project_help = "owner/repository, e.g. acme/shop"
    default_base_url = "https://api.github.com"

    def create(self, account: TrackerAccount, draft: TicketDraft) -> FiledTicket:
        owner, _, repo = account.project.partition("/")
        path = f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}/issues"
        answer = post_json(
            self.label,
            _api(account, path),
            {"title": draft.title, "body": draft.body, "labels": draft.labels},
            {
                "Authorization": f"Bearer {account.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            return FiledTicket(key=f"{repo}#{answer['number']}", url=answer["html_url"])
        except (KeyError, TypeError):
            raise TrackerError(f"{self.label} did not say which issue it made.") from None

    def signature_valid(self, *, secret, headers: Mapping[str, str], query, body: bytes) -> bool:
        given = headers.get("X-Hub-Signature-256", "")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return bool(given) and hmac.compare_digest(expected, given)

    def change(self, payload: dict, *, base_url: str) -> TicketChange | None:
        action, issue = payload.get("action"), payload.get("issue")
        if action not in ("closed", "reopened") or not isinstance(issue, dict):
            return None
        repo = (payload.get("repository") or {}).get("name", "")
        return TicketChange(
            key=f"{repo}#{issue.get('number')}",
            url=str(issue.get("html_url", "")),
            closed=action == "closed",
        )


class GitLabIssues:
    name = "gitlab"
    label = "GitLab issues"
    project_help = "the project's path, e.g. acme/shop"
    default_base_url = "https://gitlab.com"

    def create(self, account: TrackerAccount, draft: TicketDraft) -> FiledTicket:
        path = f"/api/v4/projects/{quote(account.project, safe='')}/issues"
        answer = post_json(
            self.label,
            _api(account, path),
            {"title": draft.title, "description": draft.body, "labels": ",".join(draft.labels)},
            {"PRIVATE-TOKEN": account.token},
        )
        try:
            repo = account.project.rsplit("/", 1)[-1]
            return FiledTicket(key=f"{repo}#{answer['iid']}", url=answer["web_url"])
        except (KeyError, TypeError):
            raise TrackerError(f"{self.label} did not say which issue it made.") from None

    def signature_valid(self, *, secret, headers: Mapping[str, str], query, body: bytes) -> bool:
        given = headers.get("X-Gitlab-Token", "")
        return bool(given) and hmac.compare_digest(secret, given)

    def change(self, payload: dict, *, base_url: str) -> TicketChange | None:
        attributes = payload.get("object_attributes")
        if payload.get("object_kind") != "issue" or not isinstance(attributes, dict):
            return None
        action = attributes.get("action")
        if action not in ("close", "reopen"):
            return None
        repo = (payload.get("project") or {}).get("path", "")
        return TicketChange(
            key=f"{repo}#{attributes.get('iid')}",
            url=str(attributes.get("url", "")),
            closed=action == "close",
        )


class Jira:
    name = "jira"
    label = "Jira"
    project_help = "the project key, e.g. OPS"
    default_base_url = "https://your-site.atlassian.net"

    def create(self, account: TrackerAccount, draft: TicketDraft) -> FiledTicket:
        if account.username:
            pair = f"{account.username}:{account.token}".encode()
            auth = "Basic " + base64.b64encode(pair).decode()
        else:
            auth = f"Bearer {account.token}"
        fields = {
            "project": {"key": account.project},
            "summary": draft.title,
            "description": draft.body,
            "issuetype": {"name": "Task"},
            "labels": [label.replace(" ", "-") for label in draft.labels],
        }
        answer = post_json(
            self.label,
            _api(account, "/rest/api/2/issue"),
            {"fields": fields},
            {"Authorization": auth},
        )
        try:
            key = answer["key"]
        except (KeyError, TypeError):
            raise TrackerError(f"{self.label} did not say which issue it made.") from None
        return FiledTicket(key=key, url=f"{account.base_url.rstrip('/')}/browse/{key}")

    def signature_valid(self, *, secret, headers: Mapping[str, str], query, body: bytes) -> bool:
        # Jira's webhooks sign nothing: the secret rides in the URL it is given (?secret=...)
        # or, from an automation rule, in a header.
        given = headers.get("X-Hindsight-Token") or query.get("secret", "")
        return bool(given) and hmac.compare_digest(secret, given)

    def change(self, payload: dict, *, base_url: str) -> TicketChange | None:
        issue = payload.get("issue")
        if not isinstance(issue, dict) or "key" not in issue:
            return None
        moves = [
            item
            for item in (payload.get("changelog") or {}).get("items") or []
            if isinstance(item, dict) and item.get("field") == "status"
        ]
        if not moves:
            return None
        category = ((issue.get("fields") or {}).get("status") or {}).get("statusCategory") or {}
        key = str(issue["key"])
        return TicketChange(
            key=key,
            url=f"{base_url.rstrip('/')}/browse/{key}",
            closed=category.get("key") == "done",
        )
