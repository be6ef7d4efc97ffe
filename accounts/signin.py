"""Signing in: whose address a request comes from, the sign-in rate limit, and the lockout after
repeated failures (django-axes), shared by the API token sign-in, the page login and the admin login.

**Addresses.** A client can write anything in `X-Forwarded-For`, so the header is believed only as
far as the deployment says: `DUBAN_NUM_PROXIES` (DRF's `NUM_PROXIES`) proxies in front of the service
each append the address they saw, and the client is the one the outermost of them appended; with 0
(the default) only the socket's address (REMOTE_ADDR) counts. `DUBAN_TRUSTED_PROXIES` (networks)
further limits this to requests that really arrive from one of those proxies, so a client reaching
the application server directly cannot pose as anyone. The rate limit and the lockout use this one
rule (`client_address`).

**Lockout.** After `DUBAN_SIGNIN_FAILURE_LIMIT` failed sign-ins within
`DUBAN_SIGNIN_LOCKOUT_MINUTES`, counted per username and, separately, per address, the username (or
the address) is refused — even with the right password — until that many minutes after its last
failure, or until an administrator unlocks it in the admin (supervision/admin/signin.py). Attempts
refused while locked are not counted, so they do not push the end of the lockout further."""

from __future__ import annotations

import datetime
import ipaddress
import math
from functools import lru_cache

from django import forms
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

SIGNIN_THROTTLE_SCOPE = "login"


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in spec)


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request: HttpRequest) -> str | None:
    """The client's address under the deployment's proxy settings (see the module's docstring)."""
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR") or None
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    proxies = api_settings.NUM_PROXIES or 0
    if not proxies or not forwarded:
        return remote
    trusted = tuple(getattr(settings, "DUBAN_TRUSTED_PROXIES", ()) or ())
    if trusted:
        try:
            peer = ipaddress.ip_address(remote or "")
        except ValueError:
            return remote
        if not any(peer in network for network in _networks(trusted)):
            return remote  # not through our proxy: its header is the client's own words
    hops = [hop.strip() for hop in forwarded.split(",")]
    candidate = hops[-min(proxies, len(hops))]
    # A proxy appends a bare address; anything else came from the client (and would break the
    # lockout's address column), so it is not believed.
    return candidate if _is_address(candidate) else remote


class SignInRateThrottle(ScopedRateThrottle):
    """The sign-in rate limit ("login" in REST_FRAMEWORK's throttle rates), per client address as
    `client_address` finds it; the API token sign-in and the page login count in the same entry."""

    def get_ident(self, request) -> str:
        return client_address(request) or ""


class SignInLockedOut(exceptions.APIException):
    """429 for a sign-in refused by the lockout; `wait` becomes the Retry-After header."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "signin_locked_out"

    def __init__(self, wait: int):
        self.wait = wait
        super().__init__(detail=lockout_message(wait), code=self.default_code)


def lockout_message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return _("登录失败次数过多，该账号或当前地址已被暂时锁定，请 %(minutes)s 分钟后再试，或联系管理员解锁。") % {
        "minutes": minutes
    }


def cool_off() -> datetime.timedelta:
    return settings.AXES_COOLOFF_TIME


def is_locked_out(request: HttpRequest) -> bool:
    """Whether the lockout refused (or has just locked) this request's sign-in; django-axes marks the
    request while `authenticate()` runs."""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_parameters(*, username: str | None, address: str | None) -> dict[str, dict]:
    """Per lockout parameter ("username", "ip_address"): failures within the cool-off and the last
    one's time, for the username and the address of a sign-in."""
    from axes.models import AccessAttempt

    since = timezone.now() - cool_off()
    found = {}
    for name, value in (("username", username), ("ip_address", address)):
        if value is None:
            continue
        row = AccessAttempt.objects.filter(**{name: value}, attempt_time__gte=since).aggregate(
            failures=Sum("failures_since_start"), last=Max("attempt_time")
        )
        found[name] = {"value": value, "failures": row["failures"] or 0, "last": row["last"]}
    return found


def lockout_seconds_left(*, username: str | None, address: str | None) -> int:
    """Seconds until the lockout on this username or address ends (at least 1): the last failure of
    each locked parameter plus the cool-off. An upper bound, since older failures age out first."""
    limit = settings.AXES_FAILURE_LIMIT
    ends = [
        p["last"] + cool_off()
        for p in lockout_parameters(username=username, address=address).values()
        if p["failures"] >= limit and p["last"] is not None
    ]
    if not ends:
        return 1
    return max(1, math.ceil((max(ends) - timezone.now()).total_seconds()))


def request_username(request: HttpRequest) -> str | None:
    """The username django-axes recorded for this request's sign-in attempt."""
    credentials = getattr(request, "axes_credentials", None) or {}
    return credentials.get("username") or None


class SignInGuardMixin:
    """What every login page shares with the API token sign-in: its rate limit ("login" in
    REST_FRAMEWORK's throttle rates, counted in the same cache entry per client address) and its
    lockout (accounts/signin.py), each refusal said in Chinese: a page is not a second door for
    guessing passwords."""

    def clean(self):
        from types import SimpleNamespace

        throttle = SignInRateThrottle()
        if self.request is not None and not throttle.allow_request(self.request, SimpleNamespace(throttle_scope="login")):
            wait = int(throttle.wait() or 60) + 1
            raise forms.ValidationError(_("登录尝试过于频繁，请 %(s)s 秒后再试。") % {"s": wait}, code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            if self.request is not None and is_locked_out(self.request):
                wait = lockout_seconds_left(username=self.cleaned_data.get("username"), address=client_address(self.request))
                raise forms.ValidationError(lockout_message(wait), code="locked_out") from None
            raise
