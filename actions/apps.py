from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Action items"

    def ready(self) -> None:
        from actions.kinds import register_action_kinds

        register_action_kinds()
