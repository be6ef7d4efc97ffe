"""The back office for the supervision office: the demo's 督查员 enters the admin by role (no
is_staff flag) and reaches what the office maintains — categories, reminder rules, light
thresholds, the calendar, the units and people of its tree — with lists scoped by the visibility
rules; a unit handler cannot enter, and office staff cannot raise anyone above themselves. The
check on the demo itself is in tests/supervision/test_demo.py, which loads the demo once."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.choices import Classification, Role
from accounts.models import RoleAssignment, Unit, User
from supervision.models import Category
from tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db

MAINTAINED = (
    "/admin/supervision/category/",
    "/admin/supervision/reminderpolicy/",
    "/admin/supervision/warningthreshold/",
    "/admin/supervision/calendarday/",
    "/admin/accounts/unit/",
    "/admin/accounts/user/",
)


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def county():
    """A small county shaped like the demo's (same user names), and a neighbouring county's tree."""
    root = UnitFactory(name="中共云溪县委")
    office_unit = UnitFactory(name="县委督查室", parent=UnitFactory(name="县委办公室", parent=root))
    fgw = UnitFactory(name="县发展和改革委员会", parent=UnitFactory(name="云溪县人民政府", parent=root))
    people = [
        ("duchashi", office_unit, Role.OFFICE_STAFF, Classification.CONFIDENTIAL),
        ("liuyang", office_unit, Role.OFFICE_STAFF, Classification.INTERNAL),
        ("sunli", fgw, Role.UNIT_HANDLER, Classification.INTERNAL),
        ("zhouqiang", fgw, Role.UNIT_HEAD, Classification.SECRET),
        ("shuji", root, Role.LEADER, Classification.CONFIDENTIAL),
        ("jijian", UnitFactory(name="县纪委监委", parent=root), Role.DISCIPLINE, Classification.SECRET),
    ]
    for username, unit, role, clearance in people:
        UserFactory(username=username, full_name=username, unit=unit, roles=[role], clearance=clearance)
    UserFactory(username="admin", unit=office_unit, roles=[Role.ADMINISTRATOR], is_staff=True, is_superuser=True)
    other = UnitFactory(name="邻县县委")
    UserFactory(username="linxian", unit=UnitFactory(name="邻县教育局", parent=other), roles=[Role.UNIT_HANDLER])


def test_lists_are_the_offices_own_tree(county):
    client = signed_in("duchashi")
    units = {u.name for u in client.get("/admin/accounts/unit/").context["cl"].result_list}
    assert "县发展和改革委员会" in units and "邻县教育局" not in units
    people = client.get("/admin/accounts/user/?all=").context["cl"].queryset
    assert people.filter(username="sunli").exists() and not people.filter(username="linxian").exists()
    assert not people.filter(username="admin").exists()  # the superuser is not theirs to edit


def test_office_staff_change_a_category_and_a_person_within_their_clearance(county):
    client = signed_in("duchashi")
    response = client.post("/admin/supervision/category/add/", {"name": "优化营商环境专项", "sort_order": "9", "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Category.objects.filter(name="优化营商环境专项").exists()
    sunli = User.objects.get(username="sunli")
    page = client.get(f"/admin/accounts/user/{sunli.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "is_superuser" not in form.fields and "is_staff" not in form.fields
    # 刘洋 is cleared 内部: cannot give anyone 秘密, nor see the 秘密 heads at all.
    low = signed_in("liuyang")
    low_page = low.get(f"/admin/accounts/user/{sunli.pk}/change/")
    assert [v for v, _label in low_page.context["adminform"].form.fields["clearance"].choices] == [0, 1]
    zhouqiang = User.objects.get(username="zhouqiang")  # 单位负责人, 秘密
    assert low.get(f"/admin/accounts/user/{zhouqiang.pk}/change/").status_code == 302  # not found → admin index
    # No password resets of others (account takeover), and the administrator role is not offered.
    assert client.get(f"/admin/accounts/user/{sunli.pk}/password/").status_code == 403
    inline_roles = [v for v, _label in page.context["inline_admin_formsets"][0].formset.form.base_fields["role"].choices]
    assert Role.ADMINISTRATOR not in inline_roles and Role.UNIT_HANDLER in inline_roles


def test_a_unit_user_granted_staff_still_sees_no_people(world):
    world.edu_head.is_staff = True
    world.edu_head.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(world.edu_head)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403
    assert RoleAssignment.objects.filter(user=world.edu_head).exists() and Unit.objects.exists()
    assert Classification.SECRET == world.edu_head.clearance


def test_office_staff_add_a_handler_to_a_unit_of_their_tree(county):
    client = signed_in("duchashi")
    jyj = Unit.objects.get(name="县发展和改革委员会")
    data = {
        "username": "xinren",
        "full_name": "新任承办人",
        "unit": str(jyj.pk),
        "clearance": "1",
        "password1": "Duban-2026-new",
        "password2": "Duban-2026-new",
        "role_assignments-TOTAL_FORMS": "1",
        "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-0-role": Role.UNIT_HANDLER,
        "_save": "1",
    }
    missing_unit = client.post("/admin/accounts/user/add/", {**data, "unit": ""})
    assert missing_unit.status_code == 200 and "unit" in missing_unit.context["adminform"].form.errors
    response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    created = User.objects.get(username="xinren")
    assert created.unit == jyj and created.has_role(Role.UNIT_HANDLER) and not created.is_staff
