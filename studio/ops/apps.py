from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "studio.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self):
        from django_q.signals import post_spawn

        from studio.ops import heartbeat

        # Every worker process of a `qcluster` writes the heartbeat /healthz reads.
        post_spawn.connect(heartbeat.start, dispatch_uid="studio-worker-heartbeat")
