"""Domain errors: each carries a stable code, a Chinese message and the HTTP status it maps to
(STYLE.md habit 2). Services raise them; the API's exception handler renders them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"
    default_message = _("请求无效。")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None, extra: dict | None = None):
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.fields = fields or {}
        # More for the client beside code/detail/fields (e.g. the candidates of a possible duplicate).
        self.extra = extra or {}
        super().__init__(str(self.message))


class InvalidInput(DomainError):
    """400: the request names something wrong; `fields` says which field and why."""

    status_code = 400
    default_code = "invalid"


class NotPermitted(DomainError):
    """403: the user can see the record but may not do this to it."""

    status_code = 403
    default_code = "permission_denied"
    default_message = _("您没有执行此操作的权限。")


class NotVisible(DomainError):
    """404: the record does not exist for this user (absent, or above their clearance)."""

    status_code = 404
    default_code = "not_found"
    default_message = _("记录不存在。")


class TransitionNotAllowed(DomainError):
    """409: the record's current state forbids this change."""

    status_code = 409
    default_code = "transition_not_allowed"
    default_message = _("当前状态不允许此操作。")


class StaleVersion(DomainError):
    """412: the client edited an older version than the one stored."""

    status_code = 412
    default_code = "stale_version"
    default_message = _("记录已被他人修改，请刷新后重试。")


class QuotaExceeded(DomainError):
    """429: the user asked for more expensive work than their quota allows; `retry_after` says in
    how many seconds the next request fits (the Retry-After header)."""

    status_code = 429
    default_code = "quota_exceeded"
    default_message = _("请求过于频繁，请稍后再试。")

    def __init__(self, message=None, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = max(int(retry_after), 1)


def require_signed_in(user) -> None:
    """403 `not_authenticated` for no user, an anonymous one or a deactivated account."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotPermitted(_("请先登录。"), code="not_authenticated")
