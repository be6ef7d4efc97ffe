"""The Django admin as the supervision office's back office.

Django lets in `is_staff` accounts only; this site lets in the supervision office's own role too
(Role.OFFICE_STAFF, e.g. the demo's 督查员, and administrators: `User.is_office`), so that office
staff maintain what they are responsible for — categories, reminder rules, light thresholds, the
calendar, the units and people of their tree — without a second flag to keep in step with the
role. What each may see and change there is decided model by model
(supervision/admin/base.py: OfficeMaintainedAdminMixin), every list scoped by the visibility
rules in supervision/querysets.py.

The site lives here, not in supervision.admin: it is resolved while the admin modules are being
discovered, and must not import them (they register themselves on it)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class DubanAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_staff or getattr(user, "is_office", False)))


class DubanAdminConfig(AdminConfig):
    default_site = "config.admin.DubanAdminSite"
