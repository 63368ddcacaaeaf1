"""The two recurring tasks, created with the database so a fresh install has them."""

from django.db import migrations

SCHEDULES = [
    # Recover what dead workers left and keep in-flight videos polled (the poller itself
    # polls every few seconds; this is the safety net when nothing else starts it).
    {"name": "studio: recover jobs", "func": "studio.generations.runner.tick",
     "schedule_type": "I", "minutes": 1},
    # Write off what is left of expired credit packs.
    {"name": "studio: expire credits", "func": "studio.credits.tasks.expire_grants",
     "schedule_type": "D", "minutes": None},
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for spec in SCHEDULES:
        Schedule.objects.update_or_create(
            name=spec["name"],
            defaults={"func": spec["func"], "schedule_type": spec["schedule_type"],
                      "minutes": spec["minutes"], "repeats": -1},
        )


def remove(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[s["name"] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
