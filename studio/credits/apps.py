from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "studio.credits"
    label = "credits"
    verbose_name = "Credits"
