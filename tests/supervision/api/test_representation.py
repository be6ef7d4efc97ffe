"""Compiled output serializers (supervision/api/representation.py) render exactly what DRF's own
`Serializer.to_representation` renders, byte for byte once as JSON, on the whole demo ledger: every
item state, nested units and people, empty relations, attachments, requests, reports and inboxes."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from accounts.models import User
from supervision import selectors
from supervision.api.representation import CompiledOutputMixin
from supervision.api.serializers import ledger as s
from supervision.models import Instruction, ItemRequest, ProgressReport
from tasks.api.serializers import NotificationSerializer
from tasks.models import Notification
from tests.api_helpers import client_for

pytestmark = pytest.mark.django_db


def drf_rendering(serializer_class, rows) -> list[dict]:
    """What DRF itself renders: the ModelSerializer's to_representation, skipping the mixin."""
    plain = serializer_class()
    return [serializers.ModelSerializer.to_representation(plain, row) for row in rows]


def as_json(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.fixture
def demo(demo_county):
    """The demo ledger (loaded once for the module, tests/supervision/conftest.py) seen by 督查室."""
    assert demo_county.first_load is True
    office = User.objects.get(username="duchashi")
    # Inbox rows with and without an item, read and unread (the demo's own arrive from the worker).
    for n, item in enumerate(selectors.item_list(user=office).order_by("id")[:6]):
        Notification.objects.create(
            recipient=office,
            kind="reminder",
            title=f"催办 {item.code}",
            item=item if n % 3 else None,
            dedup_key=f"test:{n}",
            read_at=timezone.now() if n % 2 else None,
        )
    return office


def cases(office):
    return [
        (s.ItemSerializer, list(selectors.item_list(user=office).order_by("id"))),
        (s.InstructionSerializer, list(selectors.instruction_list(user=office).order_by("id"))),
        (s.ItemRequestSerializer, list(selectors.request_list(user=office).order_by("id"))),
        (
            s.ProgressReportSerializer,
            list(ProgressReport.objects.select_related("unit", "submitted_by").prefetch_related("attachments").order_by("id")),
        ),
        (NotificationSerializer, list(Notification.objects.select_related("item").order_by("id"))),
    ]


def test_compiled_serializers_render_what_drf_renders(demo):
    for serializer_class, rows in cases(demo):
        assert issubclass(serializer_class, CompiledOutputMixin)
        assert len(rows) >= 5, serializer_class
        compiled = serializer_class(rows, many=True).data
        expected = drf_rendering(serializer_class, rows)
        assert as_json(compiled) == as_json(expected), serializer_class.__name__
        # One row alone (a detail response) too.
        assert as_json(serializer_class(rows[-1]).data) == as_json(expected[-1])


def test_the_demo_covers_the_cases_worth_comparing(demo):
    """The comparison above means something only if the ledger has the awkward values."""
    items = s.ItemSerializer(list(selectors.item_list(user=demo)), many=True).data
    assert {row["light"] for row in items} >= {"none", "green", "overdue"}
    assert any(row["supporting_units"] for row in items) and any(not row["supporting_units"] for row in items)
    # Empty values: 参阅性 items without a deadline, open items not closed, drafts not assigned.
    for field in ("deadline", "closed_at", "assigned_at"):
        assert any(row[field] is None for row in items) and any(row[field] is not None for row in items), field
    assert any(a["acknowledged_by"] is None for row in items for a in row["assignments"])
    assert any(a["acknowledged_by"] is not None for row in items for a in row["assignments"])
    assert any(i.attachments.exists() for i in Instruction.objects.all()) or any(
        r.attachments.exists() for r in ItemRequest.objects.all()
    )


def test_item_list_is_the_same_response_and_builds_no_fields_per_request(demo, monkeypatch):
    client = client_for(demo)
    first = client.get("/api/v1/items/", {"page_size": 100})
    assert first.status_code == 200
    ids = [row["id"] for row in first.json()["results"]]
    by_id = {item.pk: item for item in selectors.item_list(user=demo).filter(pk__in=ids)}
    assert first.json()["results"] == drf_rendering(s.ItemSerializer, [by_id[pk] for pk in ids])
    # The fields of the item serializer are built once per process, not per request.
    calls = []
    original = serializers.ModelSerializer.get_fields

    def counting(self):
        calls.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counting)
    again = client.get("/api/v1/items/", {"page_size": 100})
    assert again.json() == first.json()
    assert calls == []
