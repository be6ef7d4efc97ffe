"""Overdue explanations (超期说明) → exemption (免责) or accountability (问责 → 移交): DOMAIN.md
rules 7 and 8. The sweep opens one explanation per responsible unit and is idempotent; the unit
files it and its head signs it (rule 14; test_signoff.py); the office rules; accountability refers the item so 纪检 (and 组织部门) can see it."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import ExplanationStatus, ItemStatus, ReasonKind, ReferralDepartment, Ruling
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import AuditEvent, Item, OverdueExplanation, Referral
from supervision.services import overdue_explanation_rule, overdue_explanation_submit, overdue_explanations_open
from supervision.workcalendar import add_workdays
from tasks.overdue import sweep_overdue_explanations
from tests.api_helpers import assert_error, client_for
from tests.factories import assert_one_event, audit_mark, make_item, new_events, refused, unit_approver, upload

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def back_date(item: Item, days: int) -> Item:
    """Services refuse past deadlines, so an overdue item is made by moving its deadline back."""
    past = TODAY() - datetime.timedelta(days=days)
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past)
    return Item.objects.get(pk=item.pk)


def overdue_item(world, days: int = 5, **kwargs) -> Item:
    kwargs.setdefault("supporting_units", [world.env])
    kwargs.setdefault("owner", world.edu_handler)
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, **kwargs)
    return back_date(item, days)


def explanation_of(item: Item, unit) -> OverdueExplanation:
    return OverdueExplanation.objects.get(item=item, unit=unit)


@pytest.fixture
def opened(world):
    """An overdue item (lead 县教育局, supporting 县环保局) with its two explanations open."""
    item = overdue_item(world)
    overdue_explanations_open(item=item)
    return item


# --- the sweep ----------------------------------------------------------------------------------


def test_sweep_opens_one_per_unit_and_is_idempotent(world):
    item = overdue_item(world)
    on_time = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    closed = back_date(make_item(ItemStatus.CLOSED, office=world.office, lead_unit=world.env, owner=world.env_handler), 5)
    mark = audit_mark()

    assert sweep_overdue_explanations() == 2

    rows = OverdueExplanation.objects.filter(item=item).order_by("unit__name")
    assert {r.unit_id for r in rows} == {world.edu.pk, world.env.pk}
    for row in rows:
        assert row.status == ExplanationStatus.AWAITING and row.deadline == item.deadline
        assert row.due_by == add_workdays(TODAY(), 3)
        assert (row.reason_kind, row.ruling, row.submitted_at) == ("", "", None)
    assert not OverdueExplanation.objects.filter(item__in=[on_time, closed]).exists()
    events = new_events(mark)
    assert [e.action for e in events] == ["overdue_explanation_opened"] * 2
    assert all(e.actor_id is None and e.actor_name == "system" and e.item_id == item.pk for e in events)

    # Twice: nothing new, nothing audited; the service itself agrees.
    mark = audit_mark()
    assert sweep_overdue_explanations() == 0
    assert overdue_explanations_open(item=item) == []
    assert OverdueExplanation.objects.filter(item=item).count() == 2
    assert new_events(mark) == []


def test_sweep_in_small_batches_and_new_episode_after_a_missed_extension(world):
    items = [overdue_item(world, supporting_units=[]) for _ in range(3)]
    assert sweep_overdue_explanations(batch_size=2) == 3
    # The deadline moved (an extension) and was missed again: a new episode, new explanations.
    first = items[0]
    Item.objects.filter(pk=first.pk).update(deadline=TODAY() - datetime.timedelta(days=1))
    assert sweep_overdue_explanations(batch_size=2) == 1
    assert OverdueExplanation.objects.filter(item=first).count() == 2


def test_not_overdue_opens_nothing(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    mark = audit_mark()
    assert overdue_explanations_open(item=item) == []
    assert new_events(mark) == []


def test_due_by_counts_working_days_across_national_day(world, settings):
    # 2025: 1–8 October are holidays, Saturday 11 October is a make-up working day (调休).
    settings.DUBAN_EXPLANATION_WORKDAYS = 3
    item = overdue_item(world, supporting_units=[])
    Item.objects.filter(pk=item.pk).update(deadline=datetime.date(2025, 9, 29))
    [row] = overdue_explanations_open(item=item, today=datetime.date(2025, 9, 30))
    assert row.due_by == datetime.date(2025, 10, 11)


# --- submitting ---------------------------------------------------------------------------------


def test_unit_submits_its_explanation_with_evidence(world, opened):
    row = explanation_of(opened, world.edu)
    evidence = upload(world.edu_handler, name="说明.pdf")
    mark = audit_mark()
    row = overdue_explanation_submit(
        actor=world.edu_handler,
        explanation=row,
        reason_kind=ReasonKind.OBJECTIVE,
        text="受台风影响施工中断",
        attachment_ids=[evidence.pk],
    )
    row.refresh_from_db()
    # Filed by a handler: it waits for the unit head's signature before it reaches the office.
    assert (row.status, row.reason_kind, row.submitted_by) == (
        ExplanationStatus.AWAITING_ENDORSEMENT,
        "objective",
        world.edu_handler,
    )
    assert [link.attachment_id for link in row.attachment_links.all()] == [evidence.pk]
    assert row.is_late is False
    event = assert_one_event(mark, action="overdue_explanation_submitted", actor=world.edu_handler, item=opened)
    assert event.data["reason_kind"] == "objective" and event.data["attachment_ids"] == [evidence.pk]

    # Twice is a conflict; the evidence cannot be reused for the other unit either.
    with refused(TransitionNotAllowed, item=opened, code="explanation_already_submitted"):
        overdue_explanation_submit(actor=world.edu_head, explanation=row, reason_kind="subjective", text="再说明")
    env_row = explanation_of(opened, world.env)
    with refused(InvalidInput, item=opened, fields=["attachment_ids"]):
        overdue_explanation_submit(
            actor=world.env_handler, explanation=env_row, reason_kind="objective", text="配合", attachment_ids=[evidence.pk]
        )


def test_only_the_owing_unit_may_submit(world, opened):
    row = explanation_of(opened, world.edu)
    # 县环保局 sees the item (supporting unit) but the explanation is not theirs: 403.
    with refused(NotPermitted, item=opened, code="explaining_unit_only"):
        overdue_explanation_submit(actor=world.env_handler, explanation=row, reason_kind="objective", text="代为说明")
    # 黄庄乡 cannot see the item at all: 404.
    with refused(NotVisible, item=opened):
        overdue_explanation_submit(actor=world.town_handler, explanation=row, reason_kind="objective", text="说明")
    # The office rules; it does not explain on a unit's behalf.
    with refused(NotPermitted, item=opened):
        overdue_explanation_submit(actor=world.office, explanation=row, reason_kind="objective", text="说明")


def test_submit_input_checks(world, opened):
    row = explanation_of(opened, world.edu)
    with refused(InvalidInput, item=opened, fields=["reason_kind"]):
        overdue_explanation_submit(actor=world.edu_handler, explanation=row, reason_kind="weather", text="说明")
    with refused(InvalidInput, item=opened, fields=["text"]):
        overdue_explanation_submit(actor=world.edu_handler, explanation=row, reason_kind="objective", text="  ")
    someone_elses = upload(world.edu_head)
    with refused(InvalidInput, item=opened, fields=["attachment_ids"]):
        overdue_explanation_submit(
            actor=world.edu_handler,
            explanation=row,
            reason_kind="objective",
            text="说明",
            attachment_ids=[someone_elses.pk],  # not the submitter's upload
        )
    assert explanation_of(opened, world.edu).status == ExplanationStatus.AWAITING


def test_submit_over_http_404_403_200(world, opened):
    row = explanation_of(opened, world.edu)
    url = f"/api/v1/explanations/{row.pk}/submit/"
    body = {"reason_kind": "subjective", "text": "思想上不够重视，推进迟缓"}
    mark = audit_mark()
    assert_error(client_for(world.town_handler).post(url, body, format="json"), 404, code="not_found")
    assert_error(client_for(world.env_handler).post(url, body, format="json"), 403, code="explaining_unit_only")
    assert_error(
        client_for(world.edu_handler).post(url, {"reason_kind": "x", "text": ""}, format="json"), 400, field="reason_kind"
    )
    assert new_events(mark) == []
    r = client_for(world.edu_handler).post(url, body, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "awaiting_endorsement" and r.json()["reason_kind_display"] == "主观原因"
    assert r.json()["status_label"] == "待单位负责人签字"
    assert_error(client_for(world.edu_handler).post(url, body, format="json"), 409, code="explanation_already_submitted")
    assert_error(client_for(world.edu_handler).post("/api/v1/explanations/999999/submit/", body, format="json"), 404)


# --- ruling ---------------------------------------------------------------------------------------


def submit(world, item, unit, actor, kind):
    """Filed by `actor` and signed by the unit's head: what reaches the office to be ruled on."""
    row = overdue_explanation_submit(actor=actor, explanation=explanation_of(item, unit), reason_kind=kind, text="具体原因说明")
    if row.status == ExplanationStatus.AWAITING_ENDORSEMENT:
        row = services.overdue_explanation_endorse(actor=unit_approver(unit), explanation=row)
    return row


def test_objective_reason_exempted(world, opened):
    row = submit(world, opened, world.edu, world.edu_handler, ReasonKind.OBJECTIVE)
    mark = audit_mark()
    row = overdue_explanation_rule(actor=world.office, explanation=row, ruling=Ruling.EXEMPTION, comment="确属客观原因")
    row.refresh_from_db()
    assert (row.status, row.ruling, row.ruled_by, row.ruling_comment) == ("ruled", "exemption", world.office, "确属客观原因")
    assert not row.referrals.exists() and not Referral.objects.filter(item=opened).exists()
    assert_one_event(mark, action="overdue_explanation_exemption", actor=world.office, item=opened)
    with refused(TransitionNotAllowed, item=opened, code="explanation_already_ruled"):
        overdue_explanation_rule(actor=world.office, explanation=row, ruling=Ruling.ACCOUNTABILITY, comment="改判")


def test_subjective_reason_accountability_refers_to_discipline(world, opened):
    row = submit(world, opened, world.edu, world.edu_handler, ReasonKind.SUBJECTIVE)
    with refused(InvalidInput, item=opened, fields=["ruling"]):
        overdue_explanation_rule(actor=world.office, explanation=row, ruling=Ruling.EXEMPTION)
    with refused(InvalidInput, item=opened, fields=["comment"]):
        overdue_explanation_rule(actor=world.office, explanation=row, ruling=Ruling.ACCOUNTABILITY, comment="")
    with refused(NotPermitted, item=opened):
        overdue_explanation_rule(actor=world.leader, explanation=row, ruling=Ruling.ACCOUNTABILITY, comment="问责")

    discipline = client_for(world.discipline)
    assert discipline.get(f"/api/v1/items/{opened.pk}/").status_code == 404  # not referred yet

    mark = audit_mark()
    r = client_for(world.office).post(
        f"/api/v1/explanations/{row.pk}/rule/", {"ruling": "accountability", "comment": "主观不作为"}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["ruling"] == "accountability"
    assert [ref["department"] for ref in r.json()["referrals"]] == ["discipline"]
    assert [e.action for e in new_events(mark)] == ["item_referred", "overdue_explanation_accountability"]
    referral = Referral.objects.get(item=opened)
    assert referral.department == ReferralDepartment.DISCIPLINE and "主观不作为" in referral.reason

    # 纪检 now sees the item, its whole history and the explanations; 组织部门 does not.
    assert discipline.get(f"/api/v1/items/{opened.pk}/").status_code == 200
    history = discipline.get(f"/api/v1/items/{opened.pk}/history/").json()["results"]
    actions = [e["action"] for e in history]
    assert {
        "item_assigned",
        "overdue_explanation_opened",
        "overdue_explanation_submitted",
        "item_referred",
        "overdue_explanation_accountability",
    } <= set(actions), actions
    listed = discipline.get(f"/api/v1/explanations/?item={opened.pk}").json()["results"]
    assert {e["unit"]["id"] for e in listed} == {world.edu.pk, world.env.pk}
    assert client_for(world.organization).get(f"/api/v1/items/{opened.pk}/").status_code == 404
    assert client_for(world.organization).get("/api/v1/explanations/").json()["count"] == 0


def test_accountability_also_to_organization_and_reuses_referrals(world, opened, settings):
    settings.DUBAN_ACCOUNTABILITY_ALSO_ORGANIZATION = True
    # A manual referral to 纪检 already exists: accountability reuses it instead of failing.
    manual = services.referral_create(actor=world.office, item=opened, department="discipline", reason="群众举报")
    edu_row = submit(world, opened, world.edu, world.edu_handler, ReasonKind.SUBJECTIVE)
    mark = audit_mark()
    edu_row = overdue_explanation_rule(actor=world.office, explanation=edu_row, ruling=Ruling.ACCOUNTABILITY, comment="推诿拖延")
    assert [e.action for e in new_events(mark)] == ["item_referred", "overdue_explanation_accountability"]
    referrals = {r.department: r for r in edu_row.referrals.all()}
    assert set(referrals) == {"discipline", "organization"} and referrals["discipline"] == manual
    assert client_for(world.organization).get(f"/api/v1/items/{opened.pk}/").status_code == 200

    # The supporting unit's accountability shares the same two referrals.
    env_row = submit(world, opened, world.env, world.env_handler, ReasonKind.SUBJECTIVE)
    env_row = overdue_explanation_rule(actor=world.office, explanation=env_row, ruling=Ruling.ACCOUNTABILITY, comment="配合不力")
    assert Referral.objects.filter(item=opened).count() == 2
    assert set(env_row.referrals.all()) == set(referrals.values())


def test_departments_named_by_the_office(world, opened):
    row = submit(world, opened, world.edu, world.edu_handler, ReasonKind.OBJECTIVE)
    with refused(InvalidInput, item=opened, fields=["departments"]):
        overdue_explanation_rule(
            actor=world.office, explanation=row, ruling="accountability", comment="理由不成立", departments=["police"]
        )
    # An objective reason the office finds unconvincing may still lead to accountability.
    row = overdue_explanation_rule(
        actor=world.office, explanation=row, ruling="accountability", comment="理由不成立", departments=["organization"]
    )
    assert [r.department for r in row.referrals.all()] == ["organization"]


def test_no_explanation_by_due_by_allows_accountability(world):
    item = overdue_item(world, days=20)
    overdue_explanations_open(item=item, today=TODAY() - datetime.timedelta(days=15))
    row = explanation_of(item, world.edu)
    assert row.due_by < TODAY() and row.is_late
    with refused(TransitionNotAllowed, item=item, code="no_explanation"):
        overdue_explanation_rule(actor=world.office, explanation=row, ruling=Ruling.EXEMPTION, comment="")
    mark = audit_mark()
    row = overdue_explanation_rule(actor=world.office, explanation=row, ruling=Ruling.ACCOUNTABILITY, comment="逾期未作说明")
    assert (row.status, row.ruling, row.reason_kind) == ("ruled", "accountability", "")
    event = new_events(mark)[-1]
    assert event.action == "overdue_explanation_accountability" and event.data["explained"] is False
    # Ruled: a late explanation is no longer accepted.
    with refused(TransitionNotAllowed, item=item):
        overdue_explanation_submit(actor=world.edu_handler, explanation=row, reason_kind="objective", text="补充说明")


def test_no_ruling_before_submission_and_due_by(world, opened):
    row = explanation_of(opened, world.edu)
    for ruling in (Ruling.ACCOUNTABILITY, Ruling.EXEMPTION):
        with refused(TransitionNotAllowed, item=opened, code="explanation_not_due"):
            overdue_explanation_rule(actor=world.office, explanation=row, ruling=ruling, comment="提前认定")
    r = client_for(world.office).post(
        f"/api/v1/explanations/{row.pk}/rule/", {"ruling": "accountability", "comment": "x"}, format="json"
    )
    assert_error(r, 409, code="explanation_not_due")
    assert_error(
        client_for(world.edu_handler).post(f"/api/v1/explanations/{row.pk}/rule/", {"ruling": "exemption"}, format="json"), 403
    )
    assert_error(
        client_for(world.office).post(f"/api/v1/explanations/{row.pk}/rule/", {"ruling": "maybe"}, format="json"),
        400,
        field="ruling",
    )


def test_office_without_clearance_cannot_rule(world):
    item = overdue_item(world, classification=Classification.SECRET, owner=world.edu_head, supporting_units=[])
    overdue_explanations_open(item=item)
    row = explanation_of(item, world.edu)
    with refused(NotVisible, item=item):
        overdue_explanation_rule(actor=world.office_low, explanation=row, ruling="accountability", comment="问责")


# --- reading --------------------------------------------------------------------------------------


def test_explanation_visibility_over_http(world, opened):
    def units(user, query=""):
        response = client_for(user).get(f"/api/v1/explanations/{query}")
        assert response.status_code == 200, response.json()
        return sorted(e["unit"]["name"] for e in response.json()["results"])

    both = sorted([world.edu.name, world.env.name])
    assert units(world.office) == both and units(world.leader) == both and units(world.admin) == both
    assert units(world.edu_handler) == [world.edu.name]  # no sideways copying
    assert units(world.env_head) == [world.env.name]
    assert units(world.town_handler) == [] and units(world.discipline) == [] and units(world.organization) == []
    assert units(world.office, f"?unit={world.env.pk}") == [world.env.name]
    assert units(world.office, "?status=submitted") == []
    edu_row = explanation_of(opened, world.edu)
    assert client_for(world.env_handler).get(f"/api/v1/explanations/{edu_row.pk}/").status_code == 404
    assert client_for(world.edu_head).get(f"/api/v1/explanations/{edu_row.pk}/").json()["due_by"] == str(edu_row.due_by)


def test_explanation_evidence_download(world, opened):
    evidence = upload(world.edu_handler, content=b"%PDF-1.4 evidence", name="灾情证明.pdf")
    row = overdue_explanation_submit(
        actor=world.edu_handler,
        explanation=explanation_of(opened, world.edu),
        reason_kind="objective",
        text="受灾",
        attachment_ids=[evidence.pk],
    )
    body = client_for(world.office).get(f"/api/v1/explanations/{row.pk}/").json()
    [attachment] = body["attachments"]
    assert attachment["name"] == "灾情证明.pdf"
    response = client_for(world.office).get(attachment["download_url"])
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 evidence"
    assert client_for(world.env_handler).get(attachment["download_url"]).status_code == 404
    assert client_for(world.town_handler).get(attachment["download_url"]).status_code == 404


def test_audit_chain_stays_valid(world, opened):
    from supervision.audit import audit_verify

    row = submit(world, opened, world.edu, world.edu_handler, ReasonKind.SUBJECTIVE)
    overdue_explanation_rule(actor=world.office, explanation=row, ruling="accountability", comment="问责")
    assert audit_verify().ok
    assert AuditEvent.objects.filter(action="overdue_explanation_opened", actor__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_open_each_explanation_once(world):
    """Two workers running the sweep at the same moment: the item row lock queues them and the
    unique (item, unit, deadline) key backs it up, so each unit is asked exactly once."""
    import threading

    from django.db import connections

    item = overdue_item(world)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(sweep_overdue_explanations())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and sorted(results) == [0, 2]
    assert OverdueExplanation.objects.filter(item=item).count() == 2
    assert AuditEvent.objects.filter(action="overdue_explanation_opened", item=item).count() == 2


def test_explanation_list_queries_do_not_grow_with_rows(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_queries() -> int:
        client = client_for(world.office)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/explanations/").status_code == 200
        return len(ctx.captured_queries)

    item = overdue_item(world)
    overdue_explanations_open(item=item)
    submit(world, item, world.edu, world.edu_handler, ReasonKind.SUBJECTIVE)
    few = count_queries()
    for _ in range(3):
        other = overdue_item(world)
        overdue_explanations_open(item=other)
        row = submit(world, other, world.edu, world.edu_handler, ReasonKind.SUBJECTIVE)
        overdue_explanation_rule(actor=world.office, explanation=row, ruling="accountability", comment="问责")
    assert count_queries() == few


def test_units_are_told_once_that_an_explanation_is_owed(world):
    from tasks.models import Notification

    item = overdue_item(world)
    sweep_overdue_explanations()
    sweep_overdue_explanations()
    told = sorted(Notification.objects.filter(item=item, kind="explanation").values_list("recipient__username", flat=True))
    # Handlers and heads of the lead (教育局) and supporting (环保局) units, each once.
    assert told == sorted(["edu_handler", "edu_head", "env_handler", "env_head"])


def test_an_attachment_filed_with_an_explanation_cannot_be_reused(world, opened):
    explanation = explanation_of(opened, world.edu)
    evidence = upload(world.edu_handler)
    overdue_explanation_submit(
        actor=world.edu_handler,
        explanation=explanation,
        reason_kind=ReasonKind.OBJECTIVE,
        text="暴雨导致停工",
        attachment_ids=[evidence.pk],
    )
    with pytest.raises(InvalidInput):
        services.progress_report_create(
            actor=world.edu_handler, item=explanation.item, progress_text="再次使用", attachment_ids=[evidence.pk]
        )
