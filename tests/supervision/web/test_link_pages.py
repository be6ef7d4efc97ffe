"""合并督办 on the item pages (issue 15): the linked item names its lead item and offers the unit no
action of its own (it signs, reports and requests on the lead; the service refuses otherwise, 409
item_linked); the lead item lists what is linked to it; the office ends a link from either page
(audited on both items), after which the linked item is the unit's to act on again."""

from __future__ import annotations

import re

import pytest

from supervision.models import AuditEvent, ItemLink
from tests.supervision.web.helpers import page_client

pytestmark = pytest.mark.django_db


def actions(html: str) -> set[str]:
    section = re.search(r'<section class="card" id="actions">(.*?)</section>', html, re.S).group(1)
    return set(re.findall(r'data-action="(\w+)"', section))


def test_the_linked_item_points_to_its_lead_and_offers_the_unit_nothing_of_its_own(pair):
    w, lead, other, link = pair
    handler = page_client(w.env_handler)
    html = handler.get(f"/items/{other.pk}/").content.decode()
    assert re.search(
        rf'id="lead-item" data-lead-id="{lead.pk}">本事项已并入主办事项\s*<a href="/items/{lead.pk}/">{lead.code} ', html
    )
    assert actions(html) == set() and 'data-action="unlink"' not in html  # the unit may not end the link
    assert handler.get(f"/items/{other.pk}/act/acknowledge/").status_code == 403
    # On the lead: the unit's own actions, and the linked item listed.
    lead_html = handler.get(f"/items/{lead.pk}/").content.decode()
    assert "acknowledge" in actions(lead_html)
    assert re.search(rf'<li data-linked-id="{other.pk}"><a href="/items/{other.pk}/">{other.code} 城北河道整治</a>', lead_html)


def test_the_office_ends_the_link_from_the_lead_page_and_the_unit_acts_on_the_item_again(pair):
    w, lead, other, link = pair
    refused = page_client(w.env_handler).post(f"/items/{other.pk}/links/{link.pk}/unlink/", {"version": other.version})
    assert refused.status_code == 403
    assert ItemLink.objects.get(pk=link.pk).unlinked_at is None
    office = page_client(w.office)
    page = office.get(f"/items/{lead.pk}/").content.decode()
    assert f'href="/items/{lead.pk}/links/{link.pk}/unlink/#action-panel"' in page
    response = office.post(f"/items/{lead.pk}/links/{link.pk}/unlink/", {"comment": "分属两个河段，分别督办"})
    assert response.status_code == 302 and response["Location"] == f"/items/{lead.pk}/"
    link.refresh_from_db()
    assert link.unlinked_by == w.office and link.unlinked_at is not None
    ended = AuditEvent.objects.filter(action__in=["item_unlinked", "item_unlinked_from_lead"])
    assert {(e.item_id, e.comment) for e in ended} == {(other.pk, "分属两个河段，分别督办"), (lead.pk, "分属两个河段，分别督办")}
    html = page_client(w.env_handler).get(f"/items/{other.pk}/").content.decode()
    assert 'id="links"' not in html and "acknowledge" in actions(html)
    # A second press finds the link already ended: said in Chinese, not a 500.
    again = office.post(f"/items/{lead.pk}/links/{link.pk}/unlink/", {"comment": ""})
    assert again.status_code == 404  # no longer a link in force on the page


def test_a_user_who_cannot_see_the_item_gets_404(pair):
    w, lead, other, link = pair
    assert page_client(w.edu_handler).get(f"/items/{other.pk}/links/{link.pk}/unlink/").status_code == 404
