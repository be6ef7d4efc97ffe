from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "supervision"
    verbose_name = _("督查台账")

    def ready(self):
        from supervision import (
            checks,  # noqa: F401  (registers the deploy checks)
            outbox,  # models must be loaded first
        )
        from supervision.stats import cache as stats_cache

        # Cached dashboard figures must not outlive a change of the ledger.
        outbox.subscribe(stats_cache.on_ledger_change)
        # Lockouts go into the audit chain (accounts knows nothing of supervision).
        from axes.signals import user_locked_out

        from supervision.services.signin import on_user_locked_out

        user_locked_out.connect(on_user_locked_out, dispatch_uid="supervision.signin.lockout_record")
