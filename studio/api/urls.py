from django.urls import path

from studio.api import docs, schema, videos, views

urlpatterns = [
    path("docs/api/", docs.docs_page, name="api_docs"),
    path("v1/openapi.json", schema.openapi, name="openapi"),
    path("v1/models", views.models, name="v1_models"),
    path("v1/models/<str:model_id>", views.model, name="v1_model"),
    path("v1/images/generations", views.images_generations, name="v1_generations"),
    path("v1/images/edits", views.images_edits, name="v1_edits"),
    path("v1/async/images/generations", views.async_images_generations),
    path("v1/async/images/edits", views.async_images_edits),
    path("v1/async/videos/generations", views.async_videos_generations, name="v1_videos"),
    path("v1/videos/generations", views.deprecated_videos),
    path("v1/videos", videos.videos, name="v1_openai_videos"),
    path("v1/videos/<str:video_id>", videos.video, name="v1_openai_video"),
    path("v1/videos/<str:video_id>/content", videos.video_content, name="v1_openai_video_content"),
    path("v1/tasks", views.tasks, name="v1_tasks"),
    path("v1/tasks/<str:task_id>", views.task, name="v1_task"),
    path("v1/tasks/<str:task_id>/cancel", views.cancel_task, name="v1_cancel"),
]
