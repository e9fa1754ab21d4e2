from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        from incidents.slack import TeamSlackChannel
        from kernel.delivery import register_channel

        register_channel(TeamSlackChannel())
