from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        from incidents.quiet import QUIET_REMINDER_TOPIC
        from incidents.slack import TeamSlackChannel
        from incidents.status_updates import STATUS_UPDATE_TOPIC
        from incidents.webhooks import (
            PING,
            WEBHOOK_TOPIC,
            WebhookChannel,
            register_webhook_event,
        )
        from kernel.delivery import register_channel, register_topic

        register_channel(TeamSlackChannel())
        register_channel(WebhookChannel())
        register_topic(WEBHOOK_TOPIC)
        register_topic(QUIET_REMINDER_TOPIC)
        register_topic(STATUS_UPDATE_TOPIC)
        register_webhook_event("incident.opened", "An incident is opened")
        register_webhook_event("incident.status_changed", "An incident's status changes")
        register_webhook_event(PING, "A test event (sent when you ask for one)")
