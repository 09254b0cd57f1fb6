from django.apps import AppConfig


class LiveCallsConfig(AppConfig):
    name = "livecalls"
    verbose_name = "Live calls"
