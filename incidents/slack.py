"""A team's Slack channel as a delivery channel: the webhook URL is read at send time."""

from __future__ import annotations

from incidents.models import Team
from kernel.channels import ChannelError, post_slack


class TeamSlackChannel:
    """Posts to the incoming webhook of the team in the address: {"team": id, "team_name": ...}.

    The URL is a secret kept on the team, never copied into a delivery; a team that removed
    its webhook since the message was queued gets a final failure, not a retry.
    """

    name = "slack"
    label = "Slack"

    def send(self, delivery, message) -> None:
        team = Team.objects.filter(pk=delivery.address.get("team")).first()
        if team is None or not team.slack_webhook_url:
            raise ChannelError("the team no longer has a Slack channel", retryable=False)
        payload = message.slack or {"text": message.text}
        post_slack(webhook_url=team.slack_webhook_url, payload=payload)

    def describe(self, address: dict) -> str:
        return f"{address.get('team_name') or 'a team'} on Slack"


def slack_address(team: Team) -> dict:
    return {"team": team.pk, "team_name": team.name}
