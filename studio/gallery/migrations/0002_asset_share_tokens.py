"""Asset share links move from Asset.share_token to Share rows, keeping their tokens, so
every link handed out before keeps working (as a link that never expires, as they were)."""

from django.db import migrations


def to_shares(apps, schema_editor):
    Asset = apps.get_model("generations", "Asset")
    Share = apps.get_model("gallery", "Share")
    shared = Asset.objects.exclude(share_token="").filter(deleted_at__isnull=True)
    Share.objects.bulk_create(
        Share(
            token=a.share_token,
            workspace_id=a.workspace_id,
            asset_id=a.pk,
            created_by_id=a.user_id,
            created_at=a.created_at,
        )
        for a in shared.only("id", "share_token", "workspace_id", "user_id", "created_at")
    )


def to_tokens(apps, schema_editor):
    Asset = apps.get_model("generations", "Asset")
    Share = apps.get_model("gallery", "Share")
    live = Share.objects.filter(asset__isnull=False, revoked_at__isnull=True, expires_at=None)
    for share in live.only("asset_id", "token"):
        Asset.objects.filter(pk=share.asset_id).update(share_token=share.token)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0001_initial"),
        ("generations", "0003_error_params"),
    ]
    operations = [migrations.RunPython(to_shares, to_tokens)]
