"""Idempotency keys: the stored answer to a POST sent with an `Idempotency-Key` header.

The unique constraint (user, key) is the guarantee that a key runs its request at most once:
two requests with one key cannot both insert the row, whatever the cache or the process does.
The logic lives in accounts/idempotency.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import IdempotencyKeyStatus


class IdempotencyKey(models.Model):
    """One client-chosen key of one principal (a person, or an OA system's service account):
    the request it was first used for (method, path and a digest of the body) and, once that
    request finished with a status worth repeating, its response."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(_("幂等键"), max_length=255)
    method = models.CharField(_("方法"), max_length=10)
    path = models.CharField(_("路径"), max_length=1000)
    # sha256 of method, path and the canonical body: the same key on another request is refused.
    request_digest = models.CharField(max_length=64)
    status = models.CharField(
        _("状态"), max_length=16, choices=IdempotencyKeyStatus.choices, default=IdempotencyKeyStatus.IN_PROGRESS
    )
    # Who holds the key while the request runs; a holder that died is replaced after a timeout,
    # and a replaced holder's late completion matches no row, so its work is rolled back.
    claim = models.CharField(max_length=32)
    locked_at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("响应状态码"), null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"))

    class Meta:
        verbose_name = _("幂等键")
        verbose_name_plural = _("幂等键")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_user_key")]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_at")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
