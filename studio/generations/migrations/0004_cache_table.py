"""The database cache's table, so `migrate` alone leaves a worker that works.

django-q2 keeps its cluster status in the cache (settings.CACHES, "studio_cache" when there is
no Redis). A worker started on a database without this table logged errors and ignored
SIGTERM; `createcachetable` was one more command to forget. Created even when Redis is the
cache today, so dropping REDIS_URL later needs nothing else. An existing table (made by
`createcachetable`) is left as it is.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "studio_cache"


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("generations", "0003_error_params")]
    operations = [migrations.RunPython(create, drop)]
