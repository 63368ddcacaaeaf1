"""The daily purge of the trash, created with the database so a fresh install has it."""

from django.db import migrations

NAME = "studio: purge the trash"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "studio.gallery.lifecycle.purge", "schedule_type": "D",
                  "minutes": None, "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0002_asset_share_tokens"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
