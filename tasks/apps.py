import importlib
import pkgutil

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"
    verbose_name = _("后台任务")

    def ready(self):
        # Register every task module (tasks/audit.py, tasks/reminders.py, …) with Celery once the
        # models are loaded. `autodiscover_tasks(["tasks"], related_name=None)` only imports the
        # package itself, so without this the worker discards our tasks as "unregistered".
        for module in pkgutil.iter_modules([str(self.path)]):
            if module.name != "apps" and not module.name.startswith("_"):
                importlib.import_module(f"{self.name}.{module.name}")
