from django.urls import path

from studio.front import assets, keys, usage, views

urlpatterns = [
    path("", views.studio, name="studio"),
    path("models/", views.catalog, name="catalog"),
    path("generate/", views.generate, name="generate"),
    path("generate/options/", views.generate_options, name="generate_options"),
    path("jobs/<str:public_id>/", views.job_card, name="job_card"),
    path("jobs/<str:public_id>/cancel/", views.cancel_job, name="cancel_job"),
    path("jobs/<str:public_id>/retry/", views.retry_job, name="retry_job"),
    path("gallery/", assets.gallery, name="gallery"),
    path("gallery/upload/", assets.upload, name="upload"),
    path("assets/<str:uid>/", assets.asset_detail, name="asset"),
    path("assets/<str:uid>/delete/", assets.delete_asset, name="delete_asset"),
    path("assets/<str:uid>/share/", assets.share_asset, name="share_asset"),
    path("s/<str:token>/", assets.shared, name="shared"),
    path("assets/<str:uid>/edit/", assets.edit_page, name="edit"),
    path("assets/<str:uid>/edit/options/", assets.edit_options, name="edit_options"),
    path("assets/<str:uid>/edit/ai/", assets.edit_ai, name="edit_ai"),
    path("assets/<str:uid>/edit/tool/", assets.edit_tool, name="edit_tool"),
    path("assets/<str:uid>/animate/", assets.animate_page, name="animate"),
    path("assets/<str:uid>/animate/options/", assets.animate_options, name="animate_options"),
    path("assets/<str:uid>/animate/go/", assets.animate, name="animate_submit"),
    path("usage/", usage.usage, name="usage"),
    path("usage/export.csv", usage.usage_csv, name="usage_csv"),
    path("usage/redeem/", usage.redeem, name="redeem"),
    path("keys/", keys.api_keys, name="api_keys"),
    path("keys/<int:key_id>/revoke/", keys.revoke_key, name="revoke_key"),
]
