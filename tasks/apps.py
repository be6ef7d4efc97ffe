import importlib
import pkgutil

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"
    verbose_name = _("后台任务")

    def ready(self):
        from supervision import outbox
        from tasks.outbox.notifications import messenger  # models must be loaded first
        from tasks.outbox.webhooks import webhook_events_publish

        # Register every task module (tasks/audit.py, tasks/reminders.py, …) with Celery once the
        # models are loaded. `autodiscover_tasks(["tasks"], related_name=None)` only imports the
        # package itself, so without this the worker discards our tasks as "unregistered". The
        # packages (models/, outbox/, api/, migrations/) are imported too: their __init__ holds no task.
        for module in pkgutil.iter_modules([str(self.path)]):
            if module.name != "apps" and not module.name.startswith("_"):
                importlib.import_module(f"{self.name}.{module.name}")
        # The ledger never imports this app (supervision/outbox.py): messages to people are written
        # by our outbox, and every recorded change reaches the webhook outbox, in the change's own
        # transaction.
        outbox.register_messenger(messenger)
        outbox.subscribe(webhook_events_publish)
