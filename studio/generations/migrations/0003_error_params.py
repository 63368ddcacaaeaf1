"""Failure reasons are stored as a code and parameters (Job.error_params), and their sentence
is written when shown (generations/failures.py). An existing job's old sentence is kept as
its `detail`, except for the pipeline's own codes, whose sentence the code now says."""

import re

from django.db import migrations, models

OWN_CODES = {"cancelled", "worker_lost", "internal_error", "no_output", "timeout"}


def to_params(apps, schema_editor):
    Job = apps.get_model("generations", "Job")
    for job in Job.objects.exclude(error_code="").only("id", "error_code", "error_message", "model"):
        if job.error_code == "timeout":
            minutes = re.search(r"within (\d+) minutes", job.error_message)
            params = {"model": job.model, "minutes": int(minutes[1]) if minutes else "?"}
        elif job.error_code in OWN_CODES or not job.error_message:
            params = {}
        else:
            params = {"detail": job.error_message.replace(" No credits were charged.", "")}
        Job.objects.filter(pk=job.pk).update(error_params=params)


def to_message(apps, schema_editor):
    Job = apps.get_model("generations", "Job")
    for job in Job.objects.exclude(error_code="").only("id", "error_code", "error_params"):
        message = job.error_params.get("detail") or job.error_code
        Job.objects.filter(pk=job.pk).update(error_message=message)


class Migration(migrations.Migration):
    dependencies = [("generations", "0002_schedules")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(to_params, to_message),
        migrations.RemoveField(model_name="job", name="error_message"),
    ]
