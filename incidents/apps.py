from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from hindsight.middleware import IdleSessionMiddleware

        user_logged_in.connect(
            IdleSessionMiddleware.start_clock, dispatch_uid="idle-session-start-clock"
        )
