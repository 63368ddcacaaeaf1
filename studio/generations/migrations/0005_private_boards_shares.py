"""Private assets, a job's board, and share tokens gone to gallery.Share (moved there by
gallery 0002 before the column goes)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0002_asset_share_tokens'),
        ('generations', '0004_cache_table'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='asset',
            name='share_token',
        ),
        migrations.AddField(
            model_name='asset',
            name='private',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='job',
            name='board',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='jobs', to='gallery.board'),
        ),
        migrations.AddIndex(
            model_name='asset',
            index=models.Index(fields=['workspace', 'deleted_at'], name='generations_workspa_b01e8f_idx'),
        ),
    ]
