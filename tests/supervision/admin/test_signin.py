"""The sign-in lockout at the login pages, and in the admin: unlocking and revoking tokens, both
audited (issue 11, findings 4 and 11)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from knox.models import AuthToken

from supervision.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "pass-1234"  # tests/factories.py


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    redis = cache._cache.get_client(write=True)
    for key in redis.scan_iter(match="*throttle_login_*"):
        redis.delete(key)
    yield
    for key in redis.scan_iter(match="*throttle_login_*"):
        redis.delete(key)


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _lock_out(username: str) -> None:
    for n in range(10):
        Client().post("/api/v1/auth/token/", {"username": username, "password": "wrong"}, REMOTE_ADDR=f"10.1.0.{n}")


def _admin(world) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


# ---------------------------------------------------------------------------------------------
# The login pages


def test_page_login_locks_out_despite_forwarded_for(world):
    page = Client()
    for n in range(10):
        page.post("/login/", {"username": "edu_handler", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    refused = page.post("/login/", {"username": "edu_handler", "password": PASSWORD, "next": "/dashboard/"})
    assert refused.status_code == 429
    assert "已被暂时锁定" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert page.get("/dashboard/").status_code == 302  # not signed in
    # The API token sign-in is locked for the same username.
    api = Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert api.status_code == 429


def test_page_login_is_refused_for_a_username_locked_through_the_api(world):
    _lock_out("leader")
    page = Client()
    refused = page.post("/login/", {"username": "leader", "password": PASSWORD}, REMOTE_ADDR="10.1.2.1")
    assert refused.status_code == 429 and "已被暂时锁定" in refused.content.decode()


def test_admin_login_is_under_the_same_lockout(world):
    _lock_out("admin")
    refused = Client().post(
        "/admin/login/", {"username": "admin", "password": PASSWORD, "next": "/admin/"}, REMOTE_ADDR="10.1.3.1"
    )
    assert refused.status_code == 429 and "已被暂时锁定" in refused.content.decode()
    assert Client().get("/admin/").status_code == 302


# ---------------------------------------------------------------------------------------------
# Unlocking in the admin


def test_admin_unlock_restores_access_and_is_audited(world):
    _lock_out("edu_handler")
    assert Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": PASSWORD}).status_code == 429
    changelist = _admin(world).get("/admin/accounts/signinfailure/?locked=yes")
    assert changelist.status_code == 200 and "edu_handler" in changelist.content.decode()
    mark = _last_seq()
    ids = list(AccessAttempt.objects.filter(username="edu_handler").values_list("pk", flat=True))
    response = _admin(world).post(
        "/admin/accounts/signinfailure/", {"action": "unlock_selected", "_selected_action": ids}, follow=True
    )
    assert response.status_code == 200 and "已解除" in response.content.decode()
    assert not AccessAttempt.objects.filter(username="edu_handler").exists()
    events = list(AuditEvent.objects.filter(seq__gt=mark, action="signin_unlocked"))
    assert len(events) == len(ids) == 10
    assert {(e.actor_id, e.object_type, e.object_id) for e in events} == {(world.admin.pk, "user", world.edu_handler.pk)}
    assert Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": PASSWORD}).status_code == 200


def test_deleting_a_failure_record_in_the_admin_is_an_audited_unlock(world):
    for _ in range(10):
        Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": "wrong"}, REMOTE_ADDR="10.1.4.1")
    attempt = AccessAttempt.objects.get(username="edu_handler")
    mark = _last_seq()
    response = _admin(world).post(f"/admin/accounts/signinfailure/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()
    event = AuditEvent.objects.get(seq__gt=mark, action="signin_unlocked")
    assert event.data["ip_address"] == "10.1.4.1" and event.data["failures"] == 10
    ok = Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": PASSWORD}, REMOTE_ADDR="10.1.4.1")
    assert ok.status_code == 200


def test_staff_without_the_permission_cannot_unlock(world):
    _lock_out("edu_handler")
    world.office.is_staff = True
    world.office.save(update_fields=["is_staff"])
    staff = Client()
    staff.force_login(world.office)
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    staff.post("/admin/accounts/signinfailure/", {"action": "unlock_selected", "_selected_action": ids})
    assert AccessAttempt.objects.count() == 10
    assert not AuditEvent.objects.filter(action="signin_unlocked").exists()


# ---------------------------------------------------------------------------------------------
# Revoking tokens in the admin


def test_admin_revokes_a_users_tokens_and_it_is_audited(world):
    tokens = [
        Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": PASSWORD}).json()["token"] for _ in range(2)
    ]
    other = Client().post("/api/v1/auth/token/", {"username": "env_handler", "password": PASSWORD}).json()["token"]
    listing = _admin(world).get("/admin/accounts/apitoken/", {"q": "edu_handler"})
    assert listing.status_code == 200
    mark = _last_seq()
    ids = list(AuthToken.objects.filter(user=world.edu_handler).values_list("pk", flat=True))
    response = _admin(world).post(
        "/admin/accounts/apitoken/", {"action": "revoke_selected", "_selected_action": ids}, follow=True
    )
    assert "已注销 2 个令牌" in response.content.decode()
    for token in tokens:
        assert Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {other}").status_code == 200
    event = AuditEvent.objects.get(seq__gt=mark, action="signin_tokens_revoked")
    assert (event.actor_id, event.object_type, event.object_id, event.data) == (
        world.admin.pk,
        "user",
        world.edu_handler.pk,
        {"tokens": 2},
    )


def test_tokens_are_not_made_by_hand_in_the_admin(world):
    assert _admin(world).get("/admin/accounts/apitoken/add/").status_code == 403


def test_the_sign_in_log_and_records_are_in_the_admin_in_chinese(world):
    Client().post("/api/v1/auth/token/", {"username": "edu_handler", "password": PASSWORD}, REMOTE_ADDR="10.1.5.1")
    admin = _admin(world)
    index = admin.get("/admin/").content.decode()
    assert all(name in index for name in ("登录失败记录", "登录日志", "登录令牌"))
    log = admin.get("/admin/accounts/signinlog/").content.decode()
    assert "edu_handler" in log and "10.1.5.1" in log
