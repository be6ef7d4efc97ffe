"""Visibility of progress reports (DOMAIN.md rule 13): reports_visible_to, no sideways copying
between the units of one item. Apart from test_querysets.py, whose tests share one ledger."""

from types import SimpleNamespace

import pytest

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus, ReferralDepartment
from supervision.models import ProgressReport
from supervision.querysets import reports_visible_to
from tests.factories import make_item

pytestmark = pytest.mark.django_db

C = Classification


@pytest.fixture
def reported(world):
    """An item led by 教育局 with 环保局 and 黄庄乡 supporting; each unit has filed one report."""
    item = make_item(
        ItemStatus.ACKNOWLEDGED,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        supporting_units=[world.env, world.town],
    )
    reports = {}
    for key, user in (("edu", world.edu_handler), ("env", world.env_handler), ("town", world.town_handler)):
        reports[key] = services.progress_report_create(actor=user, item=item, progress_text=f"{key} 进展").pk
    return SimpleNamespace(item=item, reports=reports)


def report_units(user, reported):
    names = {pk: key for key, pk in reported.reports.items()}
    return {names[pk] for pk in reports_visible_to(user, ProgressReport.objects.all()).values_list("pk", flat=True)}


def test_lead_unit_reads_every_report(world, reported):
    assert report_units(world.edu_handler, reported) == {"edu", "env", "town"}
    assert report_units(world.edu_head, reported) == {"edu", "env", "town"}


def test_supporting_unit_reads_only_its_own(world, reported):
    assert report_units(world.env_handler, reported) == {"env"}
    assert report_units(world.env_head, reported) == {"env"}
    assert report_units(world.town_handler, reported) == {"town"}


def test_office_may_open_reports_to_a_supporting_unit(world, reported):
    services.assignment_set_report_access(actor=world.office, item=reported.item, unit=world.env, may_view_all_reports=True)
    assert report_units(world.env_handler, reported) == {"edu", "env", "town"}
    assert report_units(world.town_handler, reported) == {"town"}  # only the unit allowed
    services.assignment_set_report_access(actor=world.office, item=reported.item, unit=world.env, may_view_all_reports=False)
    assert report_units(world.env_handler, reported) == {"env"}


def test_whole_ledger_and_referral_viewers(world, reported):
    assert report_units(world.office, reported) == {"edu", "env", "town"}
    assert report_units(world.leader, reported) == {"edu", "env", "town"}
    assert report_units(world.discipline, reported) == set()  # not referred
    services.referral_create(actor=world.office, item=reported.item, department=ReferralDepartment.DISCIPLINE, reason="慢作为")
    assert report_units(world.discipline, reported) == {"edu", "env", "town"}
    assert report_units(world.organization, reported) == set()


def test_reports_of_items_out_of_reach_stay_hidden(world, reported):
    assert report_units(world.town_sub_handler, reported) == set()
    # The owner (cleared 内部) is replaced first: a 秘密 item needs a cleared owner.
    services.item_update(actor=world.office, item=reported.item, owner=world.edu_head)
    services.instruction_update(actor=world.office, instruction=reported.item.instruction, classification=C.SECRET)
    assert report_units(world.edu_handler, reported) == set()  # 内部 clearance, item now 秘密
    assert report_units(world.edu_head, reported) == {"edu", "env", "town"}  # 秘密 clearance
    assert report_units(world.env_head, reported) == {"env"}
    assert report_units(world.office_low, reported) == set()
