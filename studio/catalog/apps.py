from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "studio.catalog"
    label = "catalog"
    verbose_name = "Model catalog and pricing"
