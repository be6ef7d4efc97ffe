"""考核 scores (issue 14): every score is the sum of its terms, each term is its count × the weight
the office set, and each term opens into its items (the drill-down list, or the items the notices
and rulings name). Uses the seed meeting of test_progress.py (edu leads all 10; as of 10-10):
on time by the original deadline 5 of 10 (closed on 07-01, due 09-30), overdue now 5 (the four in
progress + the only-assigned one, past 09-30), stale 3, relapsed 0; plus one praise notice naming
edu on one item, one criticism naming it on two, one accountability ruling.

With the default weights: 40 + 60 × 0.5 − 2 × 5 − 1 × 3 − 3 × 0 + 2 × 1 − 3 × 2 − 5 × 1 = 48."""

from __future__ import annotations

import pytest

from supervision.choices import ExplanationStatus, NoticeKind, NoticeStatus, ReasonKind, Ruling
from supervision.models import FigureRules, Notice, NoticeEntry, OverdueExplanation
from tests.supervision.stats.test_figures import _assert_drilldowns_agree, get
from tests.supervision.stats.test_progress import _meeting_built, at, clock, meeting, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
Q3Q4 = {"period_start": "2026-07-01", "period_end": "2026-12-31"}


def _notice(world, kind, number, items):  # noqa: F811
    notice = Notice.objects.create(
        kind=kind,
        title="通报",
        body="正文",
        status=NoticeStatus.ISSUED,
        number=number,
        created_by=world.office,
        issued_at=at(10, 8),
    )
    for i, item in enumerate(items, 1):
        NoticeEntry.objects.create(notice=notice, item=item, unit=world.edu, position=i)


@pytest.fixture
def notices(world, meeting):  # noqa: F811
    _instruction, items = meeting
    _notice(world, NoticeKind.PRAISE, "表扬〔2026〕1号", [items["closed0"]])
    _notice(world, NoticeKind.CRITICISM, "批评〔2026〕2号", [items["silent"], items["same1"]])
    OverdueExplanation.objects.create(
        item=items["silent"],
        unit=world.edu,
        deadline=items["silent"].deadline,
        due_by=items["silent"].deadline,
        status=ExplanationStatus.RULED,
        reason_kind=ReasonKind.SUBJECTIVE,
        text="主观原因",
        submitted_at=at(10, 8),
        submitted_by=world.edu_handler,
        ruling=Ruling.ACCOUNTABILITY,
        ruled_at=at(10, 9),
        ruled_by=world.office,
    )
    return items


def test_a_score_is_the_sum_of_its_terms_and_each_term_opens_into_its_items(world, meeting, notices):  # noqa: F811
    instruction, items = meeting
    body = get(world.office, "/api/v1/stats/scores/", {**Q3Q4, "instruction": instruction.pk})
    (row,) = [r for r in body["results"] if r["unit"]["id"] == world.edu.pk]
    terms = {t["term"]: t for t in row["terms"]}
    assert {k: (t["value"], t["points"]) for k, t in terms.items()} == {
        "base": (1, 40.0),
        "on_time_rate": (0.5, 30.0),
        "overdue": (5, -10.0),
        "stale": (3, -3.0),
        "relapsed": (0, 0.0),
        "praise": (1, 2.0),
        "criticism": (2, -6.0),
        "accountability": (1, -5.0),
    }
    assert row["score"] == 48.0 == round(sum(t["points"] for t in row["terms"]), 2)
    assert [i["code"] for i in terms["criticism"]["items"]] == [items["silent"].code, items["same1"].code]
    assert terms["praise"]["items"][0]["source"] == "表扬〔2026〕1号"
    # The list terms open into exactly the items they counted.
    assert (
        _assert_drilldowns_agree(
            world.office,
            {
                "terms": [
                    {"count": t["value"] if t["term"] != "on_time_rate" else t["count"], "drilldown": t["drilldown"]}
                    for t in row["terms"]
                ]
            },
        )
        == 4
    )


def test_the_office_weights_change_the_score_and_it_still_adds_up(world, meeting, notices):  # noqa: F811
    instruction, _items = meeting
    FigureRules.objects.create(pk=1, score_base=0, score_on_time_rate=100, score_overdue="-0.5", score_criticism=0)
    body = get(world.office, "/api/v1/stats/scores/", {**Q3Q4, "instruction": instruction.pk})
    (row,) = body["results"]
    assert row["score"] == 0 + 50 - 2.5 - 3 + 0 + 2 + 0 - 5
    assert row["score"] == round(sum(t["points"] for t in row["terms"]), 2)


def test_notices_outside_the_period_or_on_items_the_viewer_cannot_see_do_not_count(world, meeting, notices):  # noqa: F811
    instruction, _items = meeting
    body = get(world.office, "/api/v1/stats/scores/", {"quarter": "2026Q3", "instruction": instruction.pk})
    (row,) = body["results"]
    terms = {t["term"]: t["value"] for t in row["terms"]}
    assert (terms["praise"], terms["criticism"], terms["accountability"]) == (0, 0, 0)  # issued in October
    # A unit of another branch sees none of edu's items: no score for edu at all.
    body = get(world.env_handler, "/api/v1/stats/scores/", Q3Q4)
    assert all(r["unit"]["id"] != world.edu.pk for r in body["results"])


def test_the_dashboard_and_the_workbook_show_the_same_scores(world, meeting, notices):  # noqa: F811
    import io

    from django.test import Client
    from openpyxl import load_workbook

    instruction, _items = meeting
    params = {"quarter": "2026Q4", "instruction": instruction.pk}
    api = get(world.office, "/api/v1/stats/scores/", params)["results"]
    client = Client()
    client.force_login(world.office)
    page = client.get("/dashboard/", params)
    assert [(r["unit"]["id"], r["score"]) for r in page.context["scores"]] == [(r["unit"]["id"], r["score"]) for r in api]
    assert f'data-score="{api[0]["score"]}"' in page.content.decode()
    response = client.get("/api/v1/stats/quarterly-workbook/", params)
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    rows = [r for r in wb["考核得分"].iter_rows(values_only=True) if r and r[0] == world.edu.name]
    assert [(r[2], r[5]) for r in rows] == [(t["label"], t["points"]) for t in api[0]["terms"]]
    assert {r[1] for r in rows} == {api[0]["score"]}
