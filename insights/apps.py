from django.apps import AppConfig


class InsightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "Insights across incidents"

    def ready(self) -> None:
        from insights.cache import connect
        from insights.digest import REVIEW_TOPIC
        from kernel.delivery import register_topic

        connect()
        register_topic(REVIEW_TOPIC)
