from django.apps import AppConfig


class PremortemsConfig(AppConfig):
    name = "premortems"
    verbose_name = "Premortems"
