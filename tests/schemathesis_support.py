"""Helpers for tests/test_schemathesis.py: the ledger the generated requests run against, pointing
generated path ids at real records, and the plain no-credentials sweep over every operation."""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from django.utils import timezone
from knox.models import AuthToken
from schemathesis import checks

from supervision.choices import ItemStatus, NoticeKind, RequestKind
from supervision.models import Item
from supervision.services import item_request_create, notice_create, overdue_explanations_open
from tasks.outbox.notifications import notification_send
from tests.conftest import build_world
from tests.factories import make_item, upload

# Generated requests per operation (valid and invalid together), bounded so that the file stays
# within a few minutes on two cores however many operations the schema grows to.
MAX_EXAMPLES = 15

# A deep local run (hundreds of cases per operation): DUBAN_SCHEMATHESIS_COVERAGE=1.
COVERAGE_PHASE = os.environ.get("DUBAN_SCHEMATHESIS_COVERAGE") == "1"
# What every response must satisfy. Left out on purpose: positive_data_acceptance (a schema-valid
# body naming an id that does not exist, or breaking a cross-field rule, is rightly a 400) and
# negative_data_rejection (django-filter ignores an unparseable boolean filter instead of refusing it).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER = re.compile(r"\{([^{}]+)\}")


class InTransactionWSGIHandler(WSGIHandler):
    """Django's real WSGI handler (middleware, error pages, the 500 handler), except that it does
    not close the database connection around each request, which would end the test's
    transaction; Django's test client leaves the connection open the same way. The body is read
    and the response closed inside that window, so request_finished fires there too."""

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = super().__call__(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]


@contextmanager
def module_ledger(django_db_blocker, media_root, raw_schema: dict) -> Iterator[SimpleNamespace]:
    """The ledger for a whole test module, in a transaction rolled back when the module is done;
    pytest-django's per-test transactions nest inside it as savepoints."""
    # Only the in-app inbox: no email, SMS or webhook deliveries for the data built here.
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media_root, DUBAN_NOTIFICATION_CHANNELS=["inbox"]),
        transaction.atomic(),
    ):
        try:
            ledger = build_ledger(build_world(), raw_schema=raw_schema)
            ledger.media_root = media_root
            yield ledger
        finally:
            transaction.set_rollback(True)


def build_ledger(world, *, raw_schema: dict) -> SimpleNamespace:
    """A small ledger in every common state, seen by a cleared office-staff user (`world.office`),
    plus the ids of real records per collection, so that some generated path ids hit them."""
    office = world.office
    items = [
        make_item(ItemStatus.DRAFT, office=office, lead_unit=world.edu, owner=world.edu_handler),
        make_item(ItemStatus.ASSIGNED, office=office, lead_unit=world.env, owner=world.env_handler),
        make_item(
            ItemStatus.IN_PROGRESS, office=office, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env]
        ),
        make_item(ItemStatus.PENDING_REVIEW, office=office, lead_unit=world.town, owner=world.town_handler),
        make_item(ItemStatus.CLOSED, office=office, lead_unit=world.edu, owner=world.edu_handler),
    ]
    in_progress = items[2]
    item_request_create(
        actor=world.edu_handler,
        item=in_progress,
        kind=RequestKind.EXTENSION,
        reason="需要补充材料",
        requested_deadline=timezone.localdate() + datetime.timedelta(days=60),
    )
    # An overdue item with its explanations open (the sweep's job in production).
    overdue = make_item(ItemStatus.IN_PROGRESS, office=office, lead_unit=world.env, owner=world.env_handler)
    past = timezone.localdate() - datetime.timedelta(days=5)
    Item.objects.filter(pk=overdue.pk).update(deadline=past, original_deadline=past)
    overdue_explanations_open(item=overdue)
    notice_create(
        actor=office,
        kind=NoticeKind.PRAISE,
        title="关于按时办结事项的通报",
        body="特予通报表扬。",
        entries=[(items[4], world.edu, "按时办结")],
    )
    upload(office)
    notification_send(recipients=[office], title="催办：请按时审核", kind="reminder", dedup_key="schemathesis:1", item=items[3])

    _, token = AuthToken.objects.create(user=office)
    auth = {"Authorization": f"Token {token}"}
    return SimpleNamespace(user=office, items=items, auth_headers=auth, ids=_collection_ids(raw_schema, f"Token {token}"))


def _collection_ids(raw_schema: dict, authorization: str) -> dict[str, list[int]]:
    """{"/api/v1/items/": [ids...], ...}: every GET without path parameters that lists records."""
    # A broken endpoint is the conformance test's to report, not this helper's.
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=authorization)
    found: dict[str, list[int]] = {}
    for path, operations in raw_schema["paths"].items():
        if "get" not in operations or PARAMETER.search(path):
            continue
        response = client.get(path, {"page_size": 100})
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("application/json"):
            continue
        body = response.json()
        rows = body.get("results") if isinstance(body, dict) else body
        if isinstance(rows, list):
            ids = [row["id"] for row in rows if isinstance(row, dict) and isinstance(row.get("id"), int)]
            if ids:
                found[path] = ids
    return found


def point_at_real_objects(case, ledger) -> None:
    """Half of the generated integer path ids (the even ones: deterministic for a given example)
    are swapped for ids of real records in the collection the path names, so the operations reach
    their real code paths instead of answering 404 to every random id."""
    for name, value in list((case.path_parameters or {}).items()):
        if not isinstance(value, int) or isinstance(value, bool) or value % 2:
            continue
        collection = case.operation.path.split("{" + name + "}")[0]
        ids = ledger.ids.get(collection)
        if ids:
            case.path_parameters[name] = ids[(value // 2) % len(ids)]


def call_every_operation_anonymously(raw_schema: dict) -> tuple[list[str], list[str]]:
    """Call each operation that requires credentials once with none and once with a bad token.
    Returns (labels refused with 401/403, "label -> status" of those that were not)."""
    refused: list[str] = []
    not_refused: list[str] = []
    global_security = raw_schema.get("security")
    for path, operations in raw_schema["paths"].items():
        url = PARAMETER.sub("1", path)
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            security = operation.get("security", global_security)
            if not security or any(requirement == {} for requirement in security):
                continue  # public, or credentials optional
            label = f"{method.upper()} {path}"
            for headers in ({}, {"HTTP_AUTHORIZATION": "Token 0000000000000000000000000000000000000000"}):
                client = Client(raise_request_exception=False, **headers)
                response = client.generic(method.upper(), url, data=b"{}", content_type="application/json")
                if response.status_code in (401, 403):
                    continue
                not_refused.append(f"{label} ({'no' if not headers else 'bad'} credentials) -> {response.status_code}")
                break
            else:
                refused.append(label)
    return refused, not_refused
