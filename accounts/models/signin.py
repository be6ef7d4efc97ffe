"""The sign-in records of django-axes and django-rest-knox under Chinese names, for the admin
(supervision/admin/signin.py): proxies, so the tables and the libraries' code stay theirs."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessLog
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken


class SignInFailure(AccessAttempt):
    """Failed sign-ins of one username from one address and browser (django-axes); a username or an
    address whose failures within the lockout period reach the limit is locked (accounts/signin.py)."""

    class Meta:
        proxy = True
        verbose_name = _("登录失败记录")
        verbose_name_plural = _("登录失败记录")


class SignInLog(AccessLog):
    """A successful sign-in: who, from which address, when (django-axes)."""

    class Meta:
        proxy = True
        verbose_name = _("登录日志")
        verbose_name_plural = _("登录日志")


class ApiToken(AuthToken):
    """An API token (django-rest-knox; accounts/tokens.py): only its digest is stored."""

    class Meta:
        proxy = True
        verbose_name = _("登录令牌")
        verbose_name_plural = _("登录令牌")
