from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Action items"

    def ready(self) -> None:
        from actions.kinds import action_items_addressing, register_action_kinds
        from actions.nags import REMINDER_TOPIC
        from kernel.delivery import register_topic
        from postmortems.coverage import register_cover

        register_action_kinds()
        register_cover(action_items_addressing)
        register_topic(REMINDER_TOPIC)
