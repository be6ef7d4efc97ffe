"""What every admin page of the ledger shares: service refusals shown as messages, read-only views."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect

from supervision.errors import DomainError


class ServiceErrorsAsMessagesMixin:
    """Admin forms that save through a service: when the service refuses (and its transaction rolls
    back), say why on the page instead of a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # The service refused (and its transaction rolled back): say why instead of a 500.
            details = "；".join(f"{k}: {'，'.join(map(str, v))}" for k, v in exc.fields.items())
            messages.error(request, f"{exc.message}{'（' + details + '）' if details else ''}")
            # A refusal that names what it clashes with (统筹督查: the unit and the activity already
            # booked that week) says which, not only how many.
            for warning in exc.extra.get("warnings", []):
                messages.warning(request, warning["message"])
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OfficeMaintainedAdminMixin:
    """Records the supervision office maintains: office staff (by role) may open, add and change
    them; anyone else only as Django's own permissions allow (superusers). Deleting stays with
    Django's permissions unless a model admin says otherwise."""

    @staticmethod
    def is_office(request) -> bool:
        return bool(request.user.is_active and request.user.is_office)

    def has_module_permission(self, request):
        return self.is_office(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.is_office(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self.is_office(request) or super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.is_office(request) or super().has_change_permission(request, obj)
