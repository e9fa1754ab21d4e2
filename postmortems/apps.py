from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"

    def ready(self) -> None:
        from incidents.opening import on_incident_opened
        from postmortems.kinds import register_document_kinds
        from postmortems.outlines import postmortem_create

        register_document_kinds()
        # Every incident gets its postmortem document the moment it is opened.
        on_incident_opened(postmortem_create)
