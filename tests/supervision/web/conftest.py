# The 合并督办 pair (a lead item and one linked to it) of the service tests, for the pages' tests.
from tests.supervision.services.test_links import pair  # noqa: F401
