from django.apps import AppConfig


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "search"
    verbose_name = "Search over everything written"

    def ready(self) -> None:
        from search import indexing

        indexing.connect()
