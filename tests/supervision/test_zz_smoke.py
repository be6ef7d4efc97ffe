import pytest
from supervision.choices import ItemStatus
from tests.factories import make_item

@pytest.mark.parametrize("state", list(ItemStatus.values))
def test_smoke(world, state):
    item = make_item(state, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler)
    assert item.status == state
