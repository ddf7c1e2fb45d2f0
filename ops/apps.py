from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Observation only (it changes nothing the sweeps do): count each sweep's runs and
        # what it recovered, in the database, so every web node's /metrics sees them.
        from celery.signals import task_success

        from ops.sweeps import sweep_succeeded

        task_success.connect(sweep_succeeded, dispatch_uid="ops.sweep_succeeded", weak=False)
