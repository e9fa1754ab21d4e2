from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"

    def ready(self) -> None:
        from incidents.opening import on_incident_opened
        from incidents.webhooks import register_webhook_event
        from kernel.delivery import register_topic
        from kernel.live import render_events_with
        from postmortems import access_events
        from postmortems.coverage import accepted_risks, register_cover
        from postmortems.kinds import register_document_kinds
        from postmortems.live_html import render_event_html
        from postmortems.outlines import postmortem_create
        from postmortems.publishing.summary import SUMMARY_TOPIC
        from postmortems.requests import REQUEST_TOPIC

        register_document_kinds()
        # Live events carry the changed block's HTML as this app's document page shows it.
        render_events_with(render_event_html)
        register_cover(accepted_risks)
        register_topic(SUMMARY_TOPIC)
        access_events.connect()
        register_webhook_event("postmortem.published", "A postmortem is published")
        register_topic(REQUEST_TOPIC)
        # Every incident gets its postmortem document the moment it is opened.
        on_incident_opened(postmortem_create)
