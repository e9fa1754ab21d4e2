"""A team's Slack webhook URL: https to an allowed host that resolves to a public address.

Name resolution is outside the machine, so it is patched: each test says what the host
resolves to.
"""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from kernel import channels
from kernel.channels import ChannelError, post_slack, slack_webhook_refusal
from tests import factories

GOOD = "https://hooks.slack.com/services/T000/B000/secret"


def resolves_to(*addresses: str):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return mock.patch.object(channels.socket, "getaddrinfo", autospec=True, side_effect=getaddrinfo)


def test_a_slack_url_at_a_public_address_is_accepted():
    with resolves_to("34.226.36.56"):
        assert slack_webhook_refusal(GOOD) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.slack.com/services/T/B/x", "must start with https://"),
        ("https://hooks.slack.com.evil.example/services/T/B/x", "must be at hooks.slack.com"),
        ("https://example.com/services/T/B/x", "not example.com"),
        ("https://user:pw@hooks.slack.com/services/T/B/x", "no user name or password"),
        ("https://hooks.slack.com:99999/services", "not a valid URL"),
        ("ftp://hooks.slack.com/services/T/B/x", "must start with https://"),
    ],
)
def test_urls_that_are_not_https_to_slack_are_refused(url, words):
    with resolves_to("34.226.36.56"):
        assert words in slack_webhook_refusal(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "fe80::1",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_a_slack_host_resolving_inside_the_network_is_refused(address):
    with resolves_to("34.226.36.56", address):
        refusal = slack_webhook_refusal(GOOD)
    assert refusal == (
        f"hooks.slack.com points to an internal address ({address}); Hindsight will not post there."
    )


def test_a_host_that_cannot_be_found_is_refused():
    with mock.patch.object(
        channels.socket, "getaddrinfo", autospec=True, side_effect=socket.gaierror("no such name")
    ):
        assert slack_webhook_refusal(GOOD) == "hooks.slack.com cannot be found."


def test_the_allowed_hosts_are_configurable(settings):
    settings.HINDSIGHT_SLACK_HOSTS = ["chat-hooks.example.org"]
    with resolves_to("34.226.36.56"):
        assert slack_webhook_refusal("https://chat-hooks.example.org/hook/1") is None
        assert "must be at chat-hooks.example.org" in slack_webhook_refusal(GOOD)


def test_the_team_form_says_why_in_words(db):
    team = factories.team("Payments")
    team.slack_webhook_url = "https://hooks.slack.com/services/T/B/x"
    with resolves_to("10.0.0.8"), pytest.raises(ValidationError) as refused:
        team.full_clean()
    assert refused.value.message_dict["slack_webhook_url"] == [
        "hooks.slack.com points to an internal address (10.0.0.8); Hindsight will not post there."
    ]


def test_the_team_admin_refuses_it_too(db, client):
    team = factories.team("Payments")
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    data = {
        "name": "Payments",
        "slug": "payments",
        "slack_webhook_url": "http://hooks.slack.com/services/T/B/x",
        "nag_every_days": 7,
        "nag_escalate_after": 3,
    }
    response = client.post(f"/admin/incidents/team/{team.pk}/change/", data)
    assert response.status_code == 200
    assert "A Slack webhook URL must start with https://." in response.content.decode()
    team.refresh_from_db()
    assert team.slack_webhook_url == ""


def test_sending_checks_again_and_never_connects_to_an_internal_address():
    """The name may have been pointed elsewhere since the team saved it."""
    with (
        resolves_to("127.0.0.1"),
        mock.patch.object(channels.urllib.request, "urlopen", autospec=True) as urlopen,
        pytest.raises(ChannelError) as refused,
    ):
        post_slack(webhook_url=GOOD, payload={"text": "hello"})
    urlopen.assert_not_called()
    assert not refused.value.retryable
    assert "internal address (127.0.0.1)" in str(refused.value)
    assert "secret" not in str(refused.value)


def test_only_the_test_setting_lets_the_local_stand_in_through(settings):
    local = "http://127.0.0.1:8080/services/T000/B000/secret"
    assert settings.HINDSIGHT_SLACK_ALLOW_LOCAL_TEST_SERVER is False
    assert "must start with https://" in slack_webhook_refusal(local)
    settings.HINDSIGHT_SLACK_ALLOW_LOCAL_TEST_SERVER = True
    assert slack_webhook_refusal(local) is None
