from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "studio.gallery"
    label = "gallery"
    verbose_name = "Boards, favourites and share links"
