"""Who gets what, on every URL: one table, read against the URLconf.

Each URL pattern names the access it needs (a row of ROWS); each role has the rights the access
table of the design gives it (RIGHTS). Every role asks every method of every URL, for a normal
and for a private incident, and gets the status the two tables say. A URL added without a row
fails `test_every_url_has_a_row`.

The data is made once for the class; each request runs in a savepoint that is rolled back, so
a delete or a publish by one role does not change what the next one finds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from unittest import mock

from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, TestCase
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from actions.meetings import meeting_schedule
from actions.models import MeetingDissent
from incidents.policy import READ_ONLY_GROUP
from postmortems.models import ConflictCopy
from postmortems.share_links import share_link_create
from premortems.models import ReasonGroup
from tests import factories

KINDS = ("normal", "private")
ROLES = (
    "anonymous",
    "link holder",
    "viewer",
    "member",
    "responder",
    "owner",
    "other team",
    "team lead",
    "admin",
)


@dataclass(frozen=True)
class Rights:
    """What the design's access table gives a role, for one kind of incident."""

    signed_in: bool = True
    sees: bool = False
    edits: bool = False
    manages: bool = False
    opens: bool = True  # open an incident, ask for a postmortem
    leads_team: bool = False  # the incidents' team
    admin: bool = False
    holds_link: bool = False


NOBODY = Rights(signed_in=False, opens=False)
READER = Rights(sees=True)
MEMBER = Rights(sees=True, edits=True)  # the organisation setting is on by default
RESPONDER = Rights(sees=True, edits=True)
MANAGER = Rights(sees=True, edits=True, manages=True)
HIDDEN = Rights()  # signed in, but the private incident does not exist for them

RIGHTS: dict[str, dict[str, Rights]] = {
    "anonymous": {"normal": NOBODY, "private": NOBODY},
    "link holder": {
        "normal": Rights(signed_in=False, opens=False, holds_link=True),
        "private": Rights(signed_in=False, opens=False, holds_link=True),
    },
    # A read-only account, added as a viewer of the private incident.
    "viewer": {"normal": Rights(sees=True, opens=False), "private": Rights(sees=True, opens=False)},
    "member": {"normal": MEMBER, "private": HIDDEN},
    "responder": {"normal": RESPONDER, "private": RESPONDER},
    "owner": {"normal": MANAGER, "private": MANAGER},
    "other team": {"normal": MEMBER, "private": HIDDEN},
    "team lead": {
        "normal": Rights(sees=True, edits=True, manages=True, leads_team=True),
        "private": Rights(sees=True, edits=True, manages=True, leads_team=True),
    },
    "admin": {
        "normal": Rights(sees=True, edits=True, manages=True, admin=True),
        "private": Rights(sees=True, edits=True, manages=True, admin=True),
    },
}


def expected(access: str, ok: int, rights: Rights) -> int:
    """The status a role gets from a URL needing `access`, when `ok` is what access gives."""
    if access == "public":
        return ok
    if access == "link":
        return ok if rights.holds_link else 404
    if not rights.signed_in:
        return 302  # to the sign-in page
    if access == "signed in":
        return ok
    if access == "open":
        return ok if rights.opens else 403
    if access == "admin":
        return ok if rights.admin else 403
    if access in ("team", "team lead"):
        # The team page reads for everyone; changing it, or marking its week reviewed, is for
        # its lead and admins (members may mark the week too, but no role here is a member).
        allowed = access == "team" or rights.leads_team or rights.admin
        return ok if allowed else 403
    if not rights.sees:
        return 404
    if access == "read":
        return ok
    if access == "ask":  # see it, and be someone who may open incidents
        return ok if rights.opens else 403
    if access == "edit":
        return ok if rights.edits else 403
    if access == "manage":
        return ok if rights.manages else 403
    raise AssertionError(f"no such access: {access}")


# name -> {method: (access, status when allowed, data to post)}. The data is chosen so that an
# allowed request gets past every check of access; an invalid form answers 422, a refused
# workflow step 409, and either proves the view let the person in.
ROWS: dict[str, dict[str, tuple]] = {
    "healthz": {"GET": ("public", 200, None)},
    "favicon": {"GET": ("public", 200, None)},
    # Single sign-on is not configured here: its two doors answer 404 to everyone.
    "oidc_authentication_init": {"GET": ("public", 404, None)},
    "oidc_authentication_callback": {"GET": ("public", 404, None)},
    "login": {"GET": ("public", 200, None), "POST": ("public", 200, {"username": "x"})},
    "logout": {"POST": ("public", 302, {})},
    "dashboard": {"GET": ("signed in", 200, None)},
    "incident-list": {"GET": ("signed in", 200, None)},
    "incident-new": {"GET": ("open", 200, None), "POST": ("open", 422, {})},
    "team-list": {"GET": ("signed in", 200, None)},
    "team-webhooks": {"GET": ("team lead", 200, None), "POST": ("team lead", 422, {})},
    # No webhook has this id: a lead or admin is let in and told so.
    "team-webhook-test": {"POST": ("team lead", 404, {})},
    "team-webhook-switch": {"POST": ("team lead", 404, {})},
    "team-webhook-delete": {"POST": ("team lead", 404, {})},
    "team-tracker": {"GET": ("team lead", 200, None), "POST": ("team lead", 422, {})},
    "team-tracker-remove": {"POST": ("team lead", 302, {})},
    # A tracker's webhook carries the tracker's signature, not a session; none is connected.
    "tracker-webhook": {"POST": ("public", 404, {})},
    "team": {"GET": ("team", 200, None), "POST": ("team lead", 302, "team")},
    "audit-log": {"GET": ("admin", 200, None)},
    "document": {"GET": ("read", 200, None)},
    "publishing": {"GET": ("manage", 200, None)},
    "publish-submit": {"POST": ("manage", 302, {})},
    "publish-return": {"POST": ("manage", 409, {"reason": "Not ready"})},
    "publish": {"POST": ("manage", 409, {})},  # a draft is sent for review first
    "summary-send": {"POST": ("manage", 409, {})},
    "publish-resolve": {"POST": ("manage", 400, {})},  # no Resolution entry named
    "share-link-new": {"POST": ("manage", 201, {"label": "Board"})},
    "share-link-revoke": {"POST": ("manage", 302, {})},
    "export-markdown": {"GET": ("read", 200, None)},
    "export-pdf": {"GET": ("read", 200, None)},
    "history": {"GET": ("read", 200, None)},
    # No image has the sample's id: let in, then told there is none.
    "image-file": {"GET": ("read", 404, None)},
    "image-remove": {"POST": ("edit", 404, {})},
    "image-upload": {"POST": ("edit", 302, {})},  # no file sent: back to the page, told why
    "wording-notes": {"POST": ("edit", 200, {})},
    "wording-acknowledge": {"POST": ("manage", 400, {})},  # no note named
    "ask-for-postmortem": {
        "GET": ("read", 200, None),
        "POST": ("ask", 302, {"reason": "Worth learning from"}),
    },
    "milestones": {"GET": ("edit", 200, None), "POST": ("edit", 422, {})},
    "insights": {"GET": ("signed in", 200, None)},
    "insights-incidents": {"GET": ("signed in", 200, None)},
    "insights-csv": {"GET": ("signed in", 200, None)},
    "recurrence": {"GET": ("read", 200, None)},
    # The earlier incident named is the incident itself: refused in words once let in.
    "recurrence-decide": {"POST": ("edit", 400, {"decision": "confirm"})},
    "search": {"GET": ("signed in", 200, None)},
    "incident-active": {"GET": ("read", 200, None)},
    "incident-active-state": {"GET": ("read", 200, None)},
    "incident-capture": {"POST": ("edit", 422, {})},
    "incident-milestone": {"POST": ("edit", 422, {})},
    "incident-role": {"POST": ("manage", 422, {})},
    "incident-join": {"POST": ("edit", 302, {})},
    "incident-status-update": {"POST": ("edit", 422, {})},
    "incident-quiet-snooze": {"POST": ("edit", 422, {})},
    "revert": {"POST": ("edit", 302, {})},
    # Under the test client (not ASGI) a stream that would open answers 503.
    "document-events": {"GET": ("read", 503, None)},
    "document-changes": {"GET": ("read", 200, None)},
    "presence": {"POST": ("read", 200, {"tab": "t1"})},
    "presence-leave": {"POST": ("read", 204, {"tab": "t1"})},
    "block-autosave": {"POST": ("edit", 200, "autosave")},
    "conflict-resolve": {"POST": ("edit", 200, {"choice": "theirs"})},
    "block-list": {"GET": ("read", 200, None)},
    "block-new": {"GET": ("edit", 200, None), "POST": ("edit", 422, {})},
    "block": {"GET": ("read", 200, None), "POST": ("edit", 200, "section")},
    "block-edit": {"GET": ("edit", 200, None)},
    "block-delete": {"POST": ("edit", 200, "entry")},
    "block-move": {"POST": ("edit", 200, {"direction": "down"})},
    "my-actions": {"GET": ("signed in", 200, None)},
    "api-tokens": {"GET": ("signed in", 200, None)},
    "api-token-new": {"POST": ("signed in", 422, {})},
    # Only one's own tokens: the pk here is nobody's, so everyone signed in gets 404.
    "api-token-revoke": {"POST": ("signed in", 404, {})},
    "chat-import": {"GET": ("edit", 200, None), "POST": ("edit", 422, {})},
    "action-review": {"GET": ("signed in", 200, None)},
    "action-review-print": {"GET": ("signed in", 200, None)},
    "action-review-mark": {"POST": ("team lead", 302, "team-id")},
    "nag-preferences": {
        "GET": ("signed in", 200, None),
        "POST": ("signed in", 302, {"resume": "1"}),
    },
    "review-meetings": {"GET": ("read", 200, None), "POST": ("edit", 422, {})},
    "meeting": {"GET": ("read", 200, None)},
    "meeting-projector": {"GET": ("read", 200, None)},
    "meeting-schedule": {"GET": ("edit", 200, None), "POST": ("edit", 422, {})},
    "meeting-timer": {"POST": ("edit", 302, "timer")},  # without htmx: back to the page
    # The sample dissent is Dana's, who is none of the roles: whoever sees it is refused.
    "dissent-consent": {"POST": ("read", 403, {"base_version": 1})},
    "action-item": {"GET": ("read", 200, None), "POST": ("edit", 422, {})},
    "action-row": {"GET": ("read", 200, None)},
    "action-update": {"GET": ("edit", 200, None), "POST": ("edit", 422, {})},
    "action-snooze": {"GET": ("edit", 200, None), "POST": ("edit", 422, {})},
    # No re-check is due on the sample item: let in, then told so.
    "action-recheck": {"GET": ("edit", 302, None), "POST": ("edit", 302, {})},
    "action-ticket-new": {"POST": ("edit", 302, {})},  # no tracker: back to the item, told why
    "stakeholder": {"GET": ("link", 200, None)},
    "stakeholder-content": {"GET": ("link", 200, None)},
    "stakeholder-events": {"GET": ("link", 503, None)},
    "stakeholder-image": {"GET": ("link", 404, None)},
    # Premortems: the incident's owner facilitates, its responder takes part, its team owns it,
    # its viewer is a read-only participant of the private one. The sample is writing, so the
    # steps of later phases are refused (409) once let in.
    "premortem-list": {"GET": ("signed in", 200, None)},
    "premortem-new": {"GET": ("open", 200, None), "POST": ("open", 422, {})},
    "premortem": {"GET": ("read", 200, None)},
    "premortem-board": {"GET": ("read", 200, None)},
    "premortem-events": {"GET": ("read", 503, None)},
    "premortem-history": {"GET": ("read", 200, None)},
    "premortem-join": {"POST": ("edit", 302, {})},
    "premortem-reason-new": {"POST": ("edit", 422, {})},
    # Only one's own reasons can be named: the sample's id is nobody's.
    "premortem-reason-delete": {"POST": ("edit", 404, {})},
    "premortem-phase": {"POST": ("manage", 409, {"to": "voting"})},
    "premortem-extend": {"POST": ("manage", 422, {"minutes": "0"})},
    "premortem-group-new": {"POST": ("edit", 409, {})},
    "premortem-group-delete": {"POST": ("edit", 409, {})},
    "premortem-vote": {"POST": ("edit", 409, {})},
    "premortem-action-item": {"POST": ("manage", 422, {})},
}
# Django's own admin site checks its own model permissions; what it shows of private incidents
# is tested in tests/incidents/test_access.py.
NOT_IN_TABLE = {"admin", "ninja"}
# The JSON API (`/api/v1/`, the "ninja" namespace) answers bearer tokens, not sessions: each of its
# endpoints asks the same policy as acting on the token's user, tested in tests/api.
# Signing in or out changes the client's session: those requests get a client of their own.
SESSION_ENDING = {"login", "logout"}
INCIDENT_ARGS = {"ref", "pk", "kind", "history_id", "token", "premortem"}


def url_patterns(resolver=None, prefix: str = "") -> list[tuple[str, str]]:
    """(name, route) of every named URL pattern in the URLconf, outside the admin site."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name in NOT_IN_TABLE:
                continue
            found += url_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((entry.name or "", prefix + str(entry.pattern)))
    return found


def test_every_url_has_a_row():
    names = [name for name, _ in url_patterns()]
    assert "" not in names, "every URL pattern needs a name to have a row"
    assert sorted(set(names) - set(ROWS)) == [], "URLs without a row in the access table"
    assert sorted(set(ROWS) - set(names)) == [], "rows for URLs that do not exist"


class AuthorizationTable(TestCase):
    @classmethod
    def setUpTestData(cls):
        people = {
            role: factories.user(role.replace(" ", "-"), first_name=role.title())
            for role in ROLES
            if role not in ("anonymous", "link holder")
        }
        people["viewer"].groups.add(Group.objects.get_or_create(name=READ_ONLY_GROUP)[0])
        people["admin"].is_superuser = people["admin"].is_staff = True
        people["admin"].save()
        team = factories.team("Payments", lead=people["team lead"])
        other = factories.team("Search")
        other.members.add(people["other team"])
        cls.team = team
        cls.people = people
        dana = factories.user("dana", first_name="Dana")
        cls.objects = {}
        for kind in KINDS:
            incident = factories.incident(
                owner=people["owner"], team=team, private=kind == "private"
            )
            incident.responders.add(people["responder"])
            if kind == "private":
                incident.viewers.add(people["viewer"])
            section = incident.postmortem.sections.first()
            entry = factories.timeline_entry(incident, text="Pool alarm")
            cause = factories.cause(incident, whys=1)
            factories.cause(incident, "A second cause")
            item = factories.action_item(incident, owner=people["owner"])
            link, token = share_link_create(
                postmortem=incident.postmortem, label="Acme", user=people["owner"], share_draft=True
            )
            meeting = meeting_schedule(
                incident=incident,
                scheduled_at=timezone.now() + timedelta(days=2),
                location="",
                attendees=[people["owner"]],
                user=people["owner"],
            )
            dissent = MeetingDissent.objects.create(
                meeting=meeting, author=dana, text="Not the cause", written_by=people["owner"]
            )
            premortem = factories.premortem(
                facilitator=people["owner"],
                team_=team,
                participants=[people["responder"]]
                + ([people["viewer"]] if kind == "private" else []),
                private=kind == "private",
            )
            group = ReasonGroup.objects.create(premortem=premortem, title="Cache stampede")
            copy = ConflictCopy.objects.create(
                section=section, text="Mine", base_version=1, against_version=1
            )
            cls.objects[kind] = {
                "incident": incident,
                "section": section,
                "entry": entry,
                "cause": cause,
                "item": item,
                "link": link,
                "token": token,
                "copy": copy,
                "meeting": meeting,
                "dissent": dissent,
                "premortem": premortem,
                "group": group,
                "history_id": section.history.order_by("history_id").first().history_id,
            }

    def setUp(self):
        self.clients = {}
        for role in ROLES:
            client = Client()
            if role in self.people:
                client.force_login(self.people[role])
            self.clients[role] = client

    def url_for(self, name: str, route: str, kind: str, role: str) -> str:
        """The route with its parts filled from the incident of that kind."""
        objects = self.objects[kind]
        ref = objects["incident"].ref
        by_name = {
            "share-link-revoke": objects["link"].pk,
            "conflict-resolve": objects["copy"].pk,
            "action-item": objects["item"].pk,
            "action-row": objects["item"].pk,
            "action-update": objects["item"].pk,
            "action-snooze": objects["item"].pk,
            "action-ticket-new": objects["item"].pk,
            "action-recheck": objects["item"].pk,
            "api-token-revoke": 999_999,
            "meeting": objects["meeting"].pk,
            "meeting-projector": objects["meeting"].pk,
            "meeting-timer": objects["meeting"].pk,
            "dissent-consent": objects["dissent"].pk,
        }
        kind_of_block = {
            "block-list": "entry",
            "block-new": "entry",
            "block-delete": "entry",
            "block-move": "cause",
            "revert": "section",
        }.get(name, "section")
        block_pk = {"section": objects["section"], "entry": objects["entry"]}
        block_pk["cause"] = objects["cause"]
        values = {
            "ref": ref,
            "kind": kind_of_block,
            "pk": by_name.get(name) or block_pk[kind_of_block].pk,
            "history_id": objects["history_id"],
            "slug": self.team.slug,
            "key": "severity",
            "team": self.team.slug,
            "hook_id": 999_999,
            "tracker_name": "github",
            "earlier_ref": ref,
            # Only the link holder holds a working token; anyone else has a guess.
            "token": objects["token"] if role == "link holder" else secrets.token_urlsafe(32),
            "premortem": objects["premortem"].pk,
            "group": objects["group"].pk,
            "reason": 999_999,
        }
        path = route
        parts = ("str:ref", "str:kind", "int:pk", "int:history_id", "str:token", "slug:slug")
        extra = ("slug:key", "str:earlier_ref", "slug:team", "int:hook_id", "slug:tracker_name")
        extra += ("int:premortem", "int:group", "int:reason")
        for part in (*parts, *extra):
            key = part.split(":")[1]
            path = path.replace(f"<{part}>", str(values[key]))
        assert "<" not in path, f"a part of {route} has no value"
        return "/" + path

    def post_data(self, data, kind: str):
        objects = self.objects[kind]
        if data == "team":
            return {
                "members": [self.people["member"].pk],
                "nag_every_days": 7,
                "nag_escalate_after": 3,
                "slack_webhook_url": "",
            }
        if data == "team-id":
            return {"team": self.team.pk, "notes": ""}
        if data == "autosave":
            return {"body": "Written as it is typed", "base_version": objects["section"].version}
        if data == "section":
            return {"body": "Saved from the form", "base_version": objects["section"].version}
        if data == "entry":
            return {"base_version": objects["entry"].version}
        if data == "timer":
            return {"action": "start", "base_version": objects["meeting"].version}
        return data

    def client_for(self, role: str, *, own: bool) -> Client:
        """The role's client; a client of its own where the request ends the session."""
        if not own:
            return self.clients[role]
        client = Client()
        if role in self.people:
            client.force_login(self.people[role])
        return client

    def request(self, role: str, method: str, url: str, data, *, own_client: bool = False):
        client = self.client_for(role, own=own_client)
        with transaction.atomic():
            response = client.get(url) if method == "GET" else client.post(url, data or {})
            transaction.set_rollback(True)
        return response.status_code

    @mock.patch("postmortems.publish_views.html_to_pdf", return_value=b"%PDF-1.7 table")
    def test_every_url_for_every_role_and_both_kinds_of_incident(self, _pdf):
        mismatches = []
        cells = 0
        for name, route in url_patterns():
            row = ROWS[name]
            names_incident = any(f":{arg}>" in route for arg in INCIDENT_ARGS) or name in (
                "action-item",
                "action-row",
                "action-update",
                "action-snooze",
            )
            for kind in KINDS if names_incident else KINDS[:1]:
                for method in ("GET", "POST"):
                    for role in ROLES:
                        url = self.url_for(name, route, kind, role)
                        if method not in row:
                            # A method the view does not take: refused before anything else.
                            if role != "admin":
                                continue
                            want, data = 405, None
                        else:
                            access, ok, data = row[method]
                            want = expected(access, ok, RIGHTS[role][kind])
                            data = self.post_data(data, kind)
                        own = name in SESSION_ENDING
                        got = self.request(role, method, url, data, own_client=own)
                        cells += 1
                        if got != want:
                            mismatches.append(
                                f"{method} {url} as {role} ({kind}): {got}, want {want}"
                            )
        type(self).cells = cells
        assert not mismatches, f"{len(mismatches)} of {cells}:\n" + "\n".join(mismatches)
        print(f"authorization table: {cells} requests")
