from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Action items"

    def ready(self) -> None:
        from actions.kinds import (
            action_items_addressing,
            register_action_kinds,
            register_meeting_kinds,
        )
        from actions.meetings import INVITATION
        from actions.nags import REMINDER_TOPIC
        from actions.tickets import ASK_FOR_OUTCOME_TOPIC
        from actions.trackers import GitHubIssues, GitLabIssues, Jira
        from incidents.webhooks import register_webhook_event
        from kernel.delivery import register_topic
        from kernel.trackers import register_tracker
        from postmortems.coverage import register_cover

        register_action_kinds()
        register_meeting_kinds()
        register_topic(INVITATION)
        register_cover(action_items_addressing)
        register_topic(REMINDER_TOPIC)
        register_topic(ASK_FOR_OUTCOME_TOPIC)
        for kind in (GitHubIssues(), GitLabIssues(), Jira()):
            register_tracker(kind)
        register_webhook_event("action_item.overdue", "An action item becomes overdue")
        register_webhook_event("action_item.closed", "An action item is done or dropped")
