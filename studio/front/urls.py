from django.urls import path

from studio.front import views

urlpatterns = [
    path("", views.studio, name="studio"),
    path("models/", views.catalog, name="catalog"),
]
