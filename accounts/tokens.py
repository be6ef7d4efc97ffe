"""API tokens (django-rest-knox): stored as SHA-512 digests, expiring, revocable.

A token expires `DUBAN_TOKEN_TTL_HOURS` after its last use (each use moves the expiry on, at most
once a minute) and at the latest `DUBAN_TOKEN_MAX_TTL_HOURS` after sign-in, however often it is
used. `POST /api/v1/auth/logout/` revokes the token it is sent with, `…/logout-all/` every token
of the user, and an administrator revokes a user's tokens in the admin (supervision/admin/signin.py).
Clients send `Authorization: Token <token>`, as with DRF's tokens before."""

from __future__ import annotations

from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from accounts.models import User


class ExpiringTokenAuthentication(TokenAuthentication):
    """knox's token authentication with Chinese messages, a refusal (not a server error) for a
    header that is not text, and one query per request: knox also walks every other token of the
    user on each request to delete expired ones; here that is done at sign-in (`token_issue`)."""

    def authenticate_credentials(self, token: bytes):
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("令牌无效，请重新登录。")) from None
        digest = hash_token(text)
        now = timezone.now()
        for auth_token in AuthToken.objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related("user"):
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry < now:
                auth_token.delete()
                raise exceptions.AuthenticationFailed(_("令牌已过期，请重新登录。"))
            if knox_settings.AUTO_REFRESH and auth_token.expiry:
                self.renew_token(auth_token)
            return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(_("令牌无效，请重新登录。"))

    def validate_user(self, auth_token):
        if not auth_token.user.is_active:
            raise exceptions.AuthenticationFailed(_("该账号已停用，请联系督查室。"))
        return auth_token.user, auth_token


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.tokens.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "登录令牌：`Authorization: Token <token>`（POST /api/v1/auth/token/ 取得；会过期，可注销）",
        }


def token_issue(*, user: User) -> tuple[AuthToken, str]:
    """A new token for `user` (the text is returned once; only its digest is stored). The user's
    expired tokens are deleted here, so they do not pile up."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return AuthToken.objects.create(user=user)


def tokens_revoke(*, user: User, token: AuthToken | None = None) -> int:
    """Revoke one token of `user`, or all of them; returns how many were revoked."""
    tokens = AuthToken.objects.filter(user=user)
    if token is not None:
        tokens = tokens.filter(digest=token.digest)
    deleted, _by_model = tokens.delete()
    return deleted
