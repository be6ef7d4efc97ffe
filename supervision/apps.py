from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "supervision"
    verbose_name = _("督查台账")

    def ready(self):
        # Lockouts go into the audit chain (accounts knows nothing of supervision).
        from .signin import connect_receivers

        connect_receivers()
