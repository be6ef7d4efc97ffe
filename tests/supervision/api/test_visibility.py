"""DOMAIN.md rule 13 as a matrix: every item endpoint × every role × own unit / other unit ×
cleared / not cleared. An item the viewer may not see is a 404, absent from lists, searches
and counts; the expected table below is written out by hand, not computed by the rule under test."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts.choices import Classification, Role, UnitKind
from supervision import services
from supervision.choices import ItemStatus, ReferralDepartment
from tests.api_helpers import client_for
from tests.factories import UnitFactory, UserFactory, make_instruction, make_item, upload
from tests.module_data import module_transaction, reread

pytestmark = pytest.mark.django_db

ACTORS = (
    "office",
    "leader",
    "admin",
    "edu_handler",
    "edu_head",
    "env_handler",
    "town_sub_handler",
    "discipline",
    "organization",
    "nobody",
)

# item key -> actors that must see it (everyone's clearance is SECRET)
#   edu_public:  lead 县教育局, supporting 县环保局, 公开, referred to 纪检
#   edu_conf:    lead 县教育局, 机密 (above SECRET), referred to 纪检
#   env_secret:  lead 县环保局, 秘密, referred to 组织部门
#   town_public: lead 黄庄乡 (parent of 黄庄乡农业站), 公开
#   draft:       lead 县教育局, still a draft
EXPECTED = {
    "edu_public": {"office", "leader", "admin", "edu_handler", "edu_head", "env_handler", "discipline"},
    "edu_conf": set(),
    "env_secret": {"office", "leader", "admin", "env_handler", "organization"},
    "town_public": {"office", "leader", "admin"},
    "draft": {"office", "admin"},
}


@pytest.fixture(scope="module")
def _built(django_db_setup, django_db_blocker, tmp_path_factory):
    """The ledger, built once for the module (see tests/module_data.py)."""
    media_root = tmp_path_factory.mktemp("media")
    with module_transaction(django_db_blocker, media_root):
        yield SimpleNamespace(ledger=build_ledger(), media_root=media_root)


@pytest.fixture
def ledger(_built, db, settings):
    settings.MEDIA_ROOT = _built.media_root
    return reread(_built.ledger)


def build_ledger():
    root = UnitFactory(name="中共测试县委", kind=UnitKind.PARTY_OFFICE)
    office_unit = UnitFactory(name="县委督查室", kind=UnitKind.SUPERVISION_OFFICE, parent=root)
    edu = UnitFactory(name="县教育局", parent=root)
    env = UnitFactory(name="县环保局", parent=root)
    town = UnitFactory(name="黄庄乡", kind=UnitKind.TOWNSHIP, parent=root)
    town_sub = UnitFactory(name="黄庄乡农业站", kind=UnitKind.OTHER, parent=town)
    disc_unit = UnitFactory(name="县纪委监委", kind=UnitKind.DISCIPLINE, parent=root)
    org_unit = UnitFactory(name="县委组织部", kind=UnitKind.ORGANIZATION, parent=root)
    secret = Classification.SECRET
    conf = Classification.CONFIDENTIAL
    # The office that builds the ledger holds 机密 clearance; the viewers under test hold 秘密.
    builder = UserFactory(username="builder", unit=office_unit, roles=[Role.OFFICE_STAFF], clearance=conf)
    users = {
        "office": UserFactory(username="office", unit=office_unit, roles=[Role.OFFICE_STAFF], clearance=secret),
        "leader": UserFactory(username="leader", unit=root, roles=[Role.LEADER], clearance=secret),
        "admin": UserFactory(username="admin1", unit=office_unit, roles=[Role.ADMINISTRATOR], clearance=secret),
        "edu_handler": UserFactory(username="edu_h", unit=edu, roles=[Role.UNIT_HANDLER], clearance=secret),
        "edu_head": UserFactory(username="edu_head", unit=edu, roles=[Role.UNIT_HEAD], clearance=secret),
        "env_handler": UserFactory(username="env_h", unit=env, roles=[Role.UNIT_HANDLER], clearance=secret),
        "town_sub_handler": UserFactory(username="town_sub_h", unit=town_sub, roles=[Role.UNIT_HANDLER], clearance=secret),
        "discipline": UserFactory(username="disc", unit=disc_unit, roles=[Role.DISCIPLINE], clearance=secret),
        "organization": UserFactory(username="org", unit=org_unit, roles=[Role.ORGANIZATION], clearance=secret),
        "nobody": UserFactory(username="nobody", unit=edu, roles=[], clearance=secret),
    }
    town_handler = UserFactory(username="town_h", unit=town, roles=[Role.UNIT_HANDLER], clearance=secret)
    edu_public = make_item(
        ItemStatus.IN_PROGRESS,
        office=builder,
        lead_unit=edu,
        supporting_units=[env],
        owner=users["edu_handler"],
        title="校舍安全隐患整改",
    )
    # Only someone cleared for 机密 can work on the 机密 item.
    edu_conf_handler = UserFactory(username="edu_conf_h", unit=edu, roles=[Role.UNIT_HANDLER], clearance=conf)
    edu_conf = make_item(
        ItemStatus.IN_PROGRESS, office=builder, lead_unit=edu, owner=edu_conf_handler, classification=conf, title="机密事项甲"
    )
    env_secret = make_item(
        ItemStatus.ACKNOWLEDGED,
        office=builder,
        lead_unit=env,
        owner=users["env_handler"],
        classification=secret,
        title="秘密事项乙",
    )
    town_public = make_item(ItemStatus.ASSIGNED, office=builder, lead_unit=town, owner=town_handler, title="乡村道路硬化")
    draft = make_item(ItemStatus.DRAFT, office=builder, lead_unit=edu, owner=users["edu_handler"], title="草稿事项丙")
    for item in (edu_public, edu_conf):
        services.referral_create(actor=builder, item=item, department=ReferralDepartment.DISCIPLINE, reason="履职不力")
    services.referral_create(actor=builder, item=env_secret, department=ReferralDepartment.ORGANIZATION, reason="典型推荐")
    items = {"edu_public": edu_public, "edu_conf": edu_conf, "env_secret": env_secret, "town_public": town_public, "draft": draft}
    return users, items


DETAIL_PATHS = ("", "reports/", "requests/", "return-visits/", "referrals/", "history/")


@pytest.mark.parametrize("actor", ACTORS)
def test_item_endpoints_follow_the_matrix(ledger, actor):
    users, items = ledger
    client = client_for(users[actor])
    listed = {row["code"] for row in client.get("/api/v1/items/", {"page_size": 100}).json()["results"]}
    expected_codes = {items[key].code for key, viewers in EXPECTED.items() if actor in viewers}
    assert listed == expected_codes
    assert client.get("/api/v1/items/").json()["count"] == len(expected_codes)
    for key, item in items.items():
        visible = actor in EXPECTED[key]
        for suffix in DETAIL_PATHS:
            response = client.get(f"/api/v1/items/{item.pk}/{suffix}")
            assert response.status_code == (200 if visible else 404), (key, suffix, response.status_code)
        # Searches and filters never reveal an invisible item either.
        found = client.get("/api/v1/items/", {"q": item.code}).json()
        assert found["count"] == (1 if visible else 0), (key, found)
        instruction = client.get(f"/api/v1/instructions/{item.instruction_id}/")
        assert instruction.status_code == (200 if visible or actor in {"office", "leader", "admin"} and key == "draft" else 404)
        requests = client.get("/api/v1/requests/", {"item": item.pk}).json()
        if not visible:
            assert requests["count"] == 0
        # Writing to an invisible item is also a 404 (not a 403 that would confirm it exists).
        if not visible:
            for action in ("acknowledge/", "assign/", "reports/", "requests/", "return-visits/", "referrals/", "resume/"):
                response = client.post(f"/api/v1/items/{item.pk}/{action}", {}, format="json")
                assert response.status_code == 404, (key, action, response.status_code)
            assert client.patch(f"/api/v1/items/{item.pk}/", {"title": "x"}, format="json").status_code == 404


def test_unauthenticated_requests_are_refused(ledger):
    _, items = ledger
    anonymous = client_for(None)
    for path in (
        "/api/v1/items/",
        f"/api/v1/items/{items['edu_public'].pk}/",
        "/api/v1/instructions/",
        "/api/v1/users/me/",
        "/api/v1/units/",
        "/api/v1/requests/",
    ):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"


def test_supporting_unit_sees_only_its_own_reports_until_the_office_allows(ledger):
    users, items = ledger
    item = items["edu_public"]
    env_client = client_for(users["env_handler"])
    evidence = upload(users["edu_handler"], name="lead-evidence.pdf")
    lead = client_for(users["edu_handler"]).post(
        f"/api/v1/items/{item.pk}/reports/", {"progress_text": "牵头单位进展", "attachment_ids": [evidence.pk]}, format="json"
    )
    assert lead.status_code == 201
    own = env_client.post(f"/api/v1/items/{item.pk}/reports/", {"progress_text": "配合单位进展"}, format="json")
    assert own.status_code == 201

    def texts(client):
        return {r["progress_text"] for r in client.get(f"/api/v1/items/{item.pk}/reports/").json()["results"]}

    assert texts(env_client) == {"配合单位进展"}
    # The lead unit's evidence file is just as closed to the supporting unit.
    assert env_client.get(f"/api/v1/attachments/{evidence.pk}/download/").status_code == 404
    assert "牵头单位进展" in texts(client_for(users["edu_head"]))
    assert texts(client_for(users["discipline"])) >= {"牵头单位进展", "配合单位进展"}
    assert texts(client_for(users["leader"])) >= {"牵头单位进展", "配合单位进展"}

    office = client_for(users["office"])
    response = office.post(
        f"/api/v1/items/{item.pk}/report-access/",
        {"unit_id": users["env_handler"].unit_id, "may_view_all_reports": True},
        format="json",
    )
    assert response.status_code == 200
    assert "牵头单位进展" in texts(env_client)
    assert env_client.get(f"/api/v1/attachments/{evidence.pk}/download/").status_code == 200
    # Only the office may open that door.
    denied = client_for(users["edu_head"]).post(
        f"/api/v1/items/{item.pk}/report-access/",
        {"unit_id": users["env_handler"].unit_id, "may_view_all_reports": False},
        format="json",
    )
    assert denied.status_code == 403


def test_unit_filter_includes_sub_units(ledger):
    users, items = ledger
    office = client_for(users["office"])
    town = items["town_public"].lead_unit
    codes = {r["code"] for r in office.get("/api/v1/items/", {"unit": town.pk}).json()["results"]}
    assert codes == {items["town_public"].code}
    # A sub-unit's own items are found from the parent; the parent's are not found from the child.
    sub = users["town_sub_handler"].unit
    builder_item = make_item(
        ItemStatus.ASSIGNED, office=users["office"], lead_unit=sub, owner=users["town_sub_handler"], title="农业站事项"
    )
    codes = {r["code"] for r in office.get("/api/v1/items/", {"unit": town.pk}).json()["results"]}
    assert codes == {items["town_public"].code, builder_item.code}
    codes = {r["code"] for r in office.get("/api/v1/items/", {"unit": sub.pk}).json()["results"]}
    assert codes == {builder_item.code}
    # The sub-unit's handler now sees its own item and still not the parent's.
    codes = {r["code"] for r in client_for(users["town_sub_handler"]).get("/api/v1/items/").json()["results"]}
    assert codes == {builder_item.code}


def test_classified_instruction_is_invisible_below_its_level(ledger):
    users, _ = ledger
    conf_instruction = make_instruction(
        office=users["office"].__class__.objects.get(username="builder"),
        classification=Classification.CONFIDENTIAL,
        title="机密批示",
    )
    for actor in ("office", "leader"):
        client = client_for(users[actor])
        assert client.get(f"/api/v1/instructions/{conf_instruction.pk}/").status_code == 404
        titles = {r["title"] for r in client.get("/api/v1/instructions/", {"page_size": 100}).json()["results"]}
        assert "机密批示" not in titles
    # Nor can an item be registered under it by someone not cleared for it.
    response = client_for(users["office"]).post(
        "/api/v1/items/", {"instruction_id": conf_instruction.pk, "title": "试图分解"}, format="json"
    )
    assert response.status_code == 400
    assert "instruction_id" in response.json()["fields"]
