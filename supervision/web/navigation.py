"""The header every page shares: who is signed in (full name, roles, unit) and the links their
roles use. One list, so a new page adds its link here and every page shows it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role

OFFICE = (Role.OFFICE_STAFF, Role.ADMINISTRATOR)
LEADERS = (Role.LEADER,)
REFERRAL_READERS = (Role.DISCIPLINE, Role.ORGANIZATION)
EVERYONE = None


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str
    path: str
    roles: tuple[str, ...] | None  # None: every signed-in user

    def shown_to(self, user) -> bool:
        return self.roles is None or user.has_role(*self.roles)


# Paths, not url names: the pages of the office's to-do lists (/office/…), instructions and
# referrals are built alongside, and a link must not break the header while one is missing.
LINKS = (
    NavLink("workbench", _("工作台"), "/", EVERYONE),
    NavLink("items", _("台账"), "/items/", EVERYONE),
    NavLink("instructions", _("批示件"), "/instructions/", OFFICE + LEADERS),
    NavLink("office", _("待办"), "/office/", OFFICE),
    NavLink("referrals", _("移交线索"), "/referrals/", OFFICE + REFERRAL_READERS),
    NavLink("dashboard", _("领导看板"), "/dashboard/", OFFICE + LEADERS),
    NavLink("admin", _("后台"), "/admin/", OFFICE),
)


def _active(path: str, link: NavLink) -> bool:
    if link.path == "/":
        return path == "/"
    return path.startswith(link.path)


def navigation(request: HttpRequest) -> dict:
    """Template context for base.html (a context processor: settings.TEMPLATES)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    labels = dict(Role.choices)
    roles = [labels[code] for code in sorted(user.role_codes) if code in labels]
    links = [
        {"key": link.key, "label": link.label, "path": link.path, "active": _active(request.path, link)}
        for link in LINKS
        if link.shown_to(user) or (link.key == "admin" and user.is_superuser)
    ]
    return {"nav_links": links, "nav_roles": roles}
