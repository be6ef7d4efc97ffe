"""Signing in over the API (issue 11, findings 4 and 11): X-Forwarded-For does not buy fresh tries,
repeated failures lock the username and the address (the right password included), tokens expire
and can be revoked, and people's clearances are not everyone's to read."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from accounts.signin import client_address
from supervision.models import AuditEvent
from tests.api_helpers import assert_error, client_for

pytestmark = pytest.mark.django_db

PASSWORD = "pass-1234"  # tests/factories.py
TOKEN_URL = "/api/v1/auth/token/"


def _forget_sign_in_rate_limit() -> None:
    """The rate limit lives in Redis, outside the test's transaction."""
    redis = cache._cache.get_client(write=True)
    for key in redis.scan_iter(match="*throttle_login_*"):
        redis.delete(key)


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    _forget_sign_in_rate_limit()
    yield
    _forget_sign_in_rate_limit()


def sign_in(username: str, password: str, **extra):
    return Client().post(TOKEN_URL, {"username": username, "password": password}, **extra)


# ---------------------------------------------------------------------------------------------
# X-Forwarded-For


def test_forwarded_for_does_not_bypass_the_rate_limit(world, settings):
    """The issue's reproduction: 25 wrong passwords, each with another X-Forwarded-For, were 25 × 400."""
    settings.AXES_FAILURE_LIMIT = 1000  # the rate limit alone
    statuses = [sign_in("edu_handler", f"wrong-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(1, 26)]
    assert statuses[:20] == [400] * 20
    assert statuses[20:] == [429] * 5
    body = assert_error(sign_in("edu_handler", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.99"), 429, code="throttled")
    assert body["fields"] == {}


def test_forwarded_for_does_not_bypass_the_lockout(world):
    for n in range(10):
        assert sign_in(f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code in (400, 429)
    # Ten failures from the one real address (127.0.0.1): locked, whatever the header says.
    assert_error(sign_in("edu_handler", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200"), 429, code="signin_locked_out")


def test_client_address_believes_only_the_configured_proxies(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.9.8.7", REMOTE_ADDR="192.0.2.1")
    assert client_address(request) == "192.0.2.1"  # default: no proxy, the header is ignored
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(request) == "10.9.8.7"  # what our one proxy appended, not what the client wrote
    settings.DUBAN_TRUSTED_PROXIES = ["192.0.2.0/28"]
    assert client_address(request) == "10.9.8.7"
    settings.DUBAN_TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_address(request) == "192.0.2.1"  # not through our proxy: the header is the client's own words
    settings.DUBAN_TRUSTED_PROXIES = []
    assert client_address(rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, not-an-address", REMOTE_ADDR="192.0.2.1")) == "192.0.2.1"


def test_behind_a_proxy_limits_count_per_forwarded_client(world, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.DUBAN_TRUSTED_PROXIES = ["127.0.0.1"]
    for n in range(10):
        # The client writes its own X-Forwarded-For; the proxy appends the address it saw.
        assert sign_in(f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7").status_code in (400, 429)
    assert_error(sign_in("edu_handler", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7"), 429, code="signin_locked_out")
    # Another client behind the same proxy is not locked.
    assert sign_in("edu_handler", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 200


# ---------------------------------------------------------------------------------------------
# Lockout


def test_lockout_per_username_refuses_the_right_password_from_anywhere(world):
    for n in range(10):
        sign_in("edu_handler", "wrong", REMOTE_ADDR=f"10.0.0.{n}")
    locked = sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.1.1")
    body = assert_error(locked, 429, code="signin_locked_out")
    assert "锁定" in body["detail"]
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    # The address is not locked: another person signs in from it.
    assert sign_in("env_handler", PASSWORD, REMOTE_ADDR="10.0.1.1").status_code == 200


def test_lockout_per_address_whatever_the_username(world):
    for n in range(10):
        sign_in(f"nobody{n}", "wrong", REMOTE_ADDR="10.0.2.1")
    assert_error(sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.2.1"), 429, code="signin_locked_out")
    assert sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.2.2").status_code == 200


def test_failures_below_the_limit_do_not_lock(world):
    for n in range(9):
        assert sign_in("edu_handler", "wrong", REMOTE_ADDR=f"10.0.3.{n}").status_code == 400
    assert sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.3.100").status_code == 200


def test_lockout_ends_after_the_period_and_refusals_do_not_extend_it(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        sign_in("edu_handler", "wrong", REMOTE_ADDR="10.0.4.1")
    for _ in range(5):  # refused while locked: not counted
        assert sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.4.2").status_code == 429
    assert AccessAttempt.objects.get(username="edu_handler").failures_since_start == 3
    # Time passes: the last failure was 16 minutes ago (the period is 15).
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.4.2").status_code == 200


def test_lockout_is_recorded_once_in_the_audit_chain(world):
    mark = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    for n in range(10):
        sign_in("edu_handler", "wrong", REMOTE_ADDR=f"10.0.5.{n}")
    for _ in range(3):
        sign_in("edu_handler", PASSWORD, REMOTE_ADDR="10.0.5.100")  # refused while locked: no new event
    events = list(AuditEvent.objects.filter(seq__gt=mark, action="signin_locked_out"))
    assert len(events) == 1
    event = events[0]
    assert (event.object_type, event.object_id, event.actor_id) == ("user", world.edu_handler.pk, None)
    assert event.data["username"] == "edu_handler" and event.data["ip_address"] == "10.0.5.9"
    assert event.data["locked_by"] == ["username"] and event.data["failures"]["username"] == 10


def test_lockout_of_an_unknown_username_is_recorded_on_the_attempt(world):
    for n in range(10):
        sign_in("no-such-person", "wrong", REMOTE_ADDR=f"10.0.6.{n}")
    event = AuditEvent.objects.get(action="signin_locked_out")
    assert event.object_type == "accessattempt"
    assert AccessAttempt.objects.filter(pk=event.object_id, username="no-such-person").exists()


# ---------------------------------------------------------------------------------------------
# Tokens


def test_sign_in_returns_a_token_that_expires(world, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": datetime.timedelta(hours=2)}
    before = timezone.now()
    response = sign_in("edu_handler", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    expiry = datetime.datetime.fromisoformat(body["expiry"])
    assert before + datetime.timedelta(hours=2) <= expiry <= timezone.now() + datetime.timedelta(hours=2)
    auth = {"HTTP_AUTHORIZATION": f"Token {body['token']}"}
    assert Client().get("/api/v1/users/me/", **auth).status_code == 200
    # Time travel: the token's expiry has passed.
    AuthToken.objects.filter(user=world.edu_handler).update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    body = assert_error(Client().get("/api/v1/users/me/", **auth), 401)
    assert "过期" in body["detail"]
    assert not AuthToken.objects.filter(user=world.edu_handler).exists()  # and it is gone


def test_a_token_in_use_is_renewed_up_to_the_maximum(world, settings):
    settings.REST_KNOX = {
        **settings.REST_KNOX,
        "TOKEN_TTL": datetime.timedelta(hours=2),
        "AUTO_REFRESH_MAX_TTL": datetime.timedelta(hours=24),
    }
    token = sign_in("edu_handler", PASSWORD).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    row = AuthToken.objects.get(user=world.edu_handler)
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() + datetime.timedelta(minutes=5))
    assert Client().get("/api/v1/users/me/", **auth).status_code == 200
    row.refresh_from_db()
    assert row.expiry > timezone.now() + datetime.timedelta(minutes=119)  # moved on by a use
    # Signed in 23 h 50 min ago: a use extends it only to 24 h after sign-in.
    created = timezone.now() - datetime.timedelta(hours=23, minutes=50)
    AuthToken.objects.filter(pk=row.pk).update(created=created, expiry=timezone.now() + datetime.timedelta(minutes=1))
    assert Client().get("/api/v1/users/me/", **auth).status_code == 200
    row.refresh_from_db()
    assert row.expiry == created + datetime.timedelta(hours=24)


def test_logout_revokes_the_token_it_is_sent_with_only(world):
    first = sign_in("edu_handler", PASSWORD).json()["token"]
    second = sign_in("edu_handler", PASSWORD).json()["token"]
    out = Client().post("/api/v1/auth/logout/", HTTP_AUTHORIZATION=f"Token {first}")
    assert out.status_code == 204
    assert_error(Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {first}"), 401)
    assert Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_logout_all_revokes_every_token_of_the_user_and_no_one_elses(world):
    mine = [sign_in("edu_handler", PASSWORD).json()["token"] for _ in range(3)]
    theirs = sign_in("env_handler", PASSWORD).json()["token"]
    assert Client().post("/api/v1/auth/logout-all/", HTTP_AUTHORIZATION=f"Token {mine[0]}").status_code == 204
    for token in mine:
        assert_error(Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {token}"), 401)
    assert Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {theirs}").status_code == 200


def test_logout_needs_a_token(world):
    assert_error(Client().post("/api/v1/auth/logout/"), 401)
    assert_error(Client().post("/api/v1/auth/logout-all/"), 401)


def test_tokens_are_stored_as_digests(world):
    token = sign_in("edu_handler", PASSWORD).json()["token"]
    row = AuthToken.objects.get(user=world.edu_handler)
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128


def test_a_header_that_is_not_text_is_refused_not_a_server_error(world):
    assert_error(Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION="Token \xe9\xe9"), 401)


# ---------------------------------------------------------------------------------------------
# Users: clearance


def test_a_unit_handler_does_not_read_other_peoples_clearance(world):
    handler = world.edu_handler
    rows = client_for(handler).get("/api/v1/users/", {"page_size": 100}).json()["results"]
    assert len(rows) > 5
    for row in rows:
        if row["id"] == handler.pk:
            assert (row["clearance"], row["clearance_display"]) == (handler.clearance, "内部")
        else:
            assert row["clearance"] is None and row["clearance_display"] is None, row
            assert "roles" in row  # choosing an owner or a leader needs them
    other = client_for(handler).get(f"/api/v1/users/{world.office.pk}/").json()
    assert other["clearance"] is None
    me = client_for(handler).get("/api/v1/users/me/").json()
    assert me["clearance"] == handler.clearance


def test_leaders_do_not_read_clearances_either(world):
    rows = client_for(world.leader).get("/api/v1/users/", {"page_size": 100}).json()["results"]
    assert [r["clearance"] for r in rows if r["id"] != world.leader.pk] == [None] * (len(rows) - 1)


@pytest.mark.parametrize("who", ["office", "admin"])
def test_office_and_administrators_read_clearances(world, who):
    rows = client_for(getattr(world, who)).get("/api/v1/users/", {"page_size": 100}).json()["results"]
    by_id = {r["id"]: r for r in rows}
    assert by_id[world.edu_head.pk]["clearance"] == world.edu_head.clearance
    assert by_id[world.edu_head.pk]["clearance_display"] == "秘密"


def test_the_schema_documents_sign_in_sign_out_and_hidden_clearances():
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert token["security"] == [{}]
    assert {"200", "400", "429"} <= set(token["responses"])
    assert "Retry-After" in token["responses"]["429"]["headers"]
    body = token["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][body]["properties"]) == {"token", "expiry"}
    for path in ("/api/v1/auth/logout/", "/api/v1/auth/logout-all/"):
        operation = schema["paths"][path]["post"]
        assert {"204", "401"} <= set(operation["responses"]), path
        assert {"tokenAuth": []} in operation["security"]
    user = schema["components"]["schemas"]["User"]["properties"]
    assert user["clearance"]["nullable"] is True and "本人" in user["clearance"]["description"]
    assert user["clearance_display"]["nullable"] is True
