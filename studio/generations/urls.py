from django.urls import path

from studio.generations import views

urlpatterns = [
    path("media/<str:uid>/<str:variant>.<str:ext>", views.serve_media, name="media"),
]
