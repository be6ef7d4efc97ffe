"""The generic visibility test (issue 11), as NetBox and authentik do it: every GET operation of the
OpenAPI schema (walked from drf-spectacular's generated document, so operations added later are
covered too), called by every role, against objects of another unit and of a higher
classification, with path ids and `?item=` filters naming those objects. Forbidden objects carry
marker strings in their titles and texts; no response may contain a marker the role must not read
(JSON, text, and the XML inside .xlsx / .docx files), nothing may answer 5xx, and a detail of an
item the role may not see is a 403/404. The admin's changelists and searches are walked the same
way for an office user cleared below the 机密 item.

The ledger is built once for the module (in a transaction rolled back at its end)."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import Classification, IntegrationOperation, Role
from supervision import services
from supervision.choices import ItemStatus, ReasonKind, RequestKind, Ruling
from supervision.models import Item, OverdueExplanation
from tasks.outbox.notifications import notification_send
from tests.api_helpers import client_for
from tests.conftest import build_world
from tests.factories import UserFactory, make_instruction, make_item, upload

pytestmark = pytest.mark.django_db

ALL = "MARK-"
CONF = "MARK-CONF"
LEAD_ONLY = ["MARK-LEADEXPL", "MARK-LEADRULING", "MARK-LEADREQ", "MARK-LEADEVIDENCE", "MARK-LEADREPORT"]

# role -> markers it must never read (written out by hand, not computed by the rule under test):
#   conf:    a 机密 item of 县教育局 (title, instruction, report, inbox message, export approval)
#   envonly: a 公开 item of 县环保局 alone
#   shared:  an overdue item led by 县教育局, supported by 县环保局: the lead's report, request
#            (with evidence), explanation and ruling (referred to 纪检); the supporting unit's
#            explanation (MARK-SUPEXPL)
FORBIDDEN = {
    "office_low": [CONF],
    "edu_handler": [CONF, "MARK-ENVONLY", "MARK-SUPEXPL"],
    "edu_key": [CONF, "MARK-ENVONLY", "MARK-SUPEXPL"],  # an OA key of 县教育局 (unit scope)
    "env_handler": [CONF, *LEAD_ONLY],
    "env_head": [CONF, *LEAD_ONLY],  # the supporting unit's head: what its handlers may not read, neither may it
    "leader_low": [CONF],  # a leader reads the whole ledger, within clearance (秘密 here)
    "town_handler": [ALL],
    "discipline": [CONF, "MARK-ENVONLY"],
    "organization": [ALL],
}
# role -> the items (of conf, envonly, shared) it may open
VISIBLE_ITEMS = {
    "office_low": {"envonly", "shared"},
    "edu_handler": {"shared"},
    "edu_key": {"shared"},
    "env_handler": {"envonly", "shared"},
    "env_head": {"envonly", "shared"},
    "leader_low": {"envonly", "shared"},
    "town_handler": set(),
    "discipline": {"shared"},
    "organization": set(),
}


@pytest.fixture(scope="module")
def ledger(django_db_setup, django_db_blocker, tmp_path_factory):
    media_root = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media_root, DUBAN_NOTIFICATION_CHANNELS=["inbox"]),
        transaction.atomic(),
    ):
        try:
            built = build(build_world())
            built.media_root = media_root
            yield built
        finally:
            transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_root(settings, ledger):
    """Overrides tests/conftest.py's per-test media directory: the ledger's files live in one."""
    settings.MEDIA_ROOT = ledger.media_root


def build(w) -> SimpleNamespace:
    L = SimpleNamespace(world=w)
    edu_conf = UserFactory(username="edu_conf", unit=w.edu, roles=[Role.UNIT_HANDLER], clearance=Classification.CONFIDENTIAL)
    w.leader_low = UserFactory(username="leader_low", unit=w.party_office, roles=[Role.LEADER], clearance=Classification.SECRET)
    conf_instruction = make_instruction(office=w.office, classification=Classification.CONFIDENTIAL, title="MARK-CONF-INSTR")
    L.conf = make_item(
        ItemStatus.IN_PROGRESS,
        office=w.office,
        instruction=conf_instruction,
        lead_unit=w.edu,
        owner=edu_conf,
        title="MARK-CONF-ITEM",
        classification=Classification.CONFIDENTIAL,
    )
    services.progress_report_create(actor=edu_conf, item=L.conf, progress_text="MARK-CONF-REPORT", progress=60)
    L.envonly = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="MARK-ENVONLY")
    L.shared = make_item(
        ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.edu, supporting_units=[w.env], owner=w.edu_handler, title="共办事项"
    )
    services.progress_report_create(actor=w.edu_handler, item=L.shared, progress_text="MARK-LEADREPORT", progress=70)
    L.evidence = upload(w.edu_handler, content=b"%PDF-1.4\nMARK-LEADEVIDENCE\n%%EOF", name="lead.pdf")
    L.request = services.item_request_create(
        actor=w.edu_handler,
        item=L.shared,
        kind=RequestKind.EXTENSION,
        reason="MARK-LEADREQ",
        requested_deadline=L.shared.deadline + datetime.timedelta(days=30),
        attachment_ids=[L.evidence.pk],
    )
    past = timezone.localdate() - datetime.timedelta(days=5)
    Item.objects.filter(pk=L.shared.pk).update(deadline=past, original_deadline=past)
    services.overdue_explanations_open(item=Item.objects.get(pk=L.shared.pk))
    L.lead_expl = OverdueExplanation.objects.get(item=L.shared, unit=w.edu)
    L.sup_expl = OverdueExplanation.objects.get(item=L.shared, unit=w.env)
    services.overdue_explanation_submit(
        actor=w.edu_handler, explanation=L.lead_expl, reason_kind=ReasonKind.SUBJECTIVE, text="MARK-LEADEXPL"
    )
    services.overdue_explanation_submit(
        actor=w.env_handler, explanation=L.sup_expl, reason_kind=ReasonKind.OBJECTIVE, text="MARK-SUPEXPL"
    )
    services.overdue_explanation_endorse(actor=w.edu_head, explanation=L.lead_expl)
    services.overdue_explanation_rule(
        actor=w.office, explanation=L.lead_expl, ruling=Ruling.ACCOUNTABILITY, comment="MARK-LEADRULING"
    )
    L.inbox = notification_send(
        recipients=[w.edu_handler, w.office_low], title="MARK-CONF-INBOX", kind="reminder", dedup_key="conf-1", item=L.conf
    )
    L.approval = services.export_approval_grant(
        actor=w.office,
        grantee=w.leader,
        classification=Classification.CONFIDENTIAL,
        reason="MARK-CONF-APPROVAL",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
    )
    L.key = services.integration_client_create(
        actor=w.admin, name="教育局OA", unit=w.edu, operations=list(IntegrationOperation.values), clearance=Classification.SECRET
    ).key
    return L


def ids_for(path: str, ledger) -> list:
    """Path values naming forbidden (or neighbouring) records of the collection the path is in."""
    items = [ledger.conf.pk, ledger.envonly.pk, ledger.shared.pk]
    prefixes = [
        ("/api/v1/items/{id}", items),
        ("/api/v1/requests/{id}", [ledger.request.pk]),
        ("/api/v1/attachments/{id}", [ledger.evidence.pk]),
        ("/api/v1/explanations/{id}", [ledger.lead_expl.pk, ledger.sup_expl.pk]),
        ("/api/v1/instructions/{id}", [ledger.conf.instruction_id, ledger.envonly.instruction_id]),
        ("/api/v1/inbox/{id}", [n.pk for n in ledger.inbox]),
        ("/api/v1/export-approvals/{id}", [ledger.approval.pk]),
        ("/api/v1/intake/instructions/{external_id}", ["oa-1"]),
    ]
    for prefix, values in prefixes:
        if path.startswith(prefix):
            return values
    return [1]


def urls_for(path: str, operation: dict, ledger) -> list[str]:
    params = re.findall(r"\{([^{}]+)\}", path)
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    if not params:
        urls = [path]
        if "item" in query:
            urls += [f"{path}?item={pk}" for pk in (ledger.conf.pk, ledger.envonly.pk, ledger.shared.pk)]
        if "q" in query:
            urls.append(f"{path}?q=MARK")
        if "page_size" in query:
            urls.append(f"{path}?page_size=100")
        return urls
    urls = []
    for value in ids_for(path, ledger):
        url = path
        for name in params:
            url = url.replace("{" + name + "}", str(value if name in ("id", "external_id") else ledger.evidence.pk))
        urls.append(url)
    return urls


def body_text(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if raw.startswith(b"PK"):  # .xlsx / .docx: the XML inside
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            raw = b"".join(archive.read(name) for name in archive.namelist())
    return raw.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def operations(ledger):
    schema = json.loads(Client().get("/api/schema/?format=json").content)
    found = [(path, ops["get"]) for path, ops in schema["paths"].items() if "get" in ops]
    assert len(found) > 40 and any("/history/" in p for p, _ in found)
    return found


def api_client(role: str, ledger) -> APIClient:
    if role == "edu_key":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ledger.key}")
        return client
    return client_for(getattr(ledger.world, role))


@pytest.mark.parametrize("role", sorted(FORBIDDEN))
def test_every_get_operation_keeps_to_the_rule(role, ledger, operations):
    client = api_client(role, ledger)
    forbidden = FORBIDDEN[role]
    items = {"conf": ledger.conf.pk, "envonly": ledger.envonly.pk, "shared": ledger.shared.pk}
    hidden_items = {pk for name, pk in items.items() if name not in VISIBLE_ITEMS[role]}
    leaks, errors, opened = [], [], []
    for path, operation in operations:
        for url in urls_for(path, operation, ledger):
            response = client.get(url)
            if response.status_code >= 500:
                errors.append((url, response.status_code))
                continue
            text = body_text(response)
            leaks += [(url, marker) for marker in forbidden if marker in text]
            match = re.match(r"^/api/v1/items/(\d+)/", url)
            if match and int(match.group(1)) in hidden_items and response.status_code not in (403, 404):
                opened.append((url, response.status_code))
    assert not errors, errors
    assert not leaks, leaks
    assert not opened, opened


def test_every_admin_changelist_and_search_keeps_to_the_rule(ledger):
    low = ledger.world.office_low
    low.is_staff = low.is_superuser = True
    low.save(update_fields=["is_staff", "is_superuser"])
    browser = Client()
    browser.force_login(low)
    leaks, errors = [], []
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls = [base]
        if model_admin.search_fields:
            urls.append(f"{base}?q=ARK-CONF")  # part of the marker: the search box echoes the query
        for url in urls:
            response = browser.get(url)
            if response.status_code >= 500:
                errors.append((url, response.status_code))
            elif CONF in response.content.decode():
                leaks.append(url)
    for url in (
        f"/admin/supervision/item/{ledger.conf.pk}/change/",
        f"/admin/supervision/instruction/{ledger.conf.instruction_id}/change/",
        f"/admin/supervision/exportapproval/{ledger.approval.pk}/change/",
        f"/admin/tasks/notification/{ledger.inbox[1].pk}/change/",
    ):
        if CONF in browser.get(url, follow=True).content.decode():
            leaks.append(url)
    assert not errors, errors
    assert not leaks, leaks


ABSENT = 987654321  # an id no record has
# A body that passes the usual input checks, so a refusal cannot hide behind a 400.
FILLED = {"reason": "理由", "comment": "意见", "text": "说明", "reason_kind": ReasonKind.OBJECTIVE, "ruling": Ruling.EXEMPTION}


def hidden_records(role: str, ledger) -> dict[str, list]:
    """Path prefix → ids of records the role may not read (written out by hand, as FORBIDDEN)."""
    items = {"conf": ledger.conf.pk, "envonly": ledger.envonly.pk, "shared": ledger.shared.pk}
    no_shared_records = role in ("env_handler", "town_handler", "organization")
    return {
        "/api/v1/items/{id}": [pk for name, pk in items.items() if name not in VISIBLE_ITEMS[role]],
        "/api/v1/instructions/{id}": [ledger.conf.instruction_id]
        + ([] if "envonly" in VISIBLE_ITEMS[role] else [ledger.envonly.instruction_id]),
        "/api/v1/requests/{id}": [ledger.request.pk] if no_shared_records else [],
        "/api/v1/attachments/{id}": [ledger.evidence.pk] if no_shared_records else [],
        "/api/v1/explanations/{id}": ([ledger.lead_expl.pk] if no_shared_records else [])
        + ([ledger.sup_expl.pk] if "MARK-SUPEXPL" in FORBIDDEN[role] or role in ("town_handler", "organization") else []),
        "/api/v1/inbox/{id}": [n.pk for n in ledger.inbox],
        "/api/v1/export-approvals/{id}": [ledger.approval.pk],
    }


def sideways_records(role: str, ledger) -> set[tuple[str, int]]:
    """The hidden records of `hidden_records` that sit on an item the role may open."""
    if "shared" not in VISIBLE_ITEMS[role]:
        return set()
    return {
        (prefix, pk)
        for prefix, pks in hidden_records(role, ledger).items()
        if prefix in ("/api/v1/requests/{id}", "/api/v1/attachments/{id}", "/api/v1/explanations/{id}")
        for pk in pks
    }


@pytest.mark.parametrize("role", sorted(FORBIDDEN))
def test_every_write_operation_on_a_hidden_record_is_refused(role, ledger):
    """Every write operation of the schema whose path names a record, called with that record's id
    where the role may not read it, answers exactly as for an id that does not exist (no existence
    oracle: a 404, or the 400 of an empty body where the body is checked first; another unit's record
    on an item the role sees may be a 403), names nothing, and writes nothing (the audit chain does
    not grow)."""
    from supervision.models import AuditEvent

    schema = json.loads(Client().get("/api/schema/?format=json").content)
    client = api_client(role, ledger)
    hidden = hidden_records(role, ledger)
    events = AuditEvent.objects.count()
    wrong, called = [], 0
    for path, operations in schema["paths"].items():
        prefix = next((p for p in hidden if path.startswith(p)), None)
        if prefix is None:
            continue
        for method in ("post", "put", "patch", "delete"):
            if method not in operations:
                continue
            for body in ({}, FILLED):
                answers = {}
                for pk in [ABSENT, *hidden[prefix]]:
                    url = re.sub(r"\{[^{}]+\}", str(pk), path, count=1)
                    url = re.sub(r"\{[^{}]+\}", str(ledger.evidence.pk), url)
                    response = getattr(client, method)(url, body, format="json")
                    answers[pk] = status, text = response.status_code, body_text(response)
                    called += 1
                    leaked = any(m in text for m in FORBIDDEN[role])
                    # Another unit's record on an item the role sees may be refused with a 403: that
                    # the record exists is known on the item (both units owe an explanation), its
                    # content is not (rule 13).
                    sideways = (prefix, pk) in sideways_records(role, ledger) and status in (403, 404)
                    if status not in (400, 403, 404) or (answers[pk] != answers[ABSENT] and not sideways) or leaked:
                        wrong.append((method.upper(), url, body, status, answers[ABSENT][0], text[:120]))
    assert called > 10
    assert not wrong, wrong
    assert AuditEvent.objects.count() == events
