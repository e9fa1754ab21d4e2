from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"

    def ready(self) -> None:
        from kernel.delivery import register_topic
        from postmortems.publishing.summary import SUMMARY_TOPIC

        register_topic(SUMMARY_TOPIC)
