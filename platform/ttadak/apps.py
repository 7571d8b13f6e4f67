from django.apps import AppConfig


class TtadakConfig(AppConfig):
    name = "ttadak"
    verbose_name = "Ttadak games"
