"""Property-based API tests: schemathesis over the whole OpenAPI schema (/api/schema/).

Every operation the schema holds when the suite runs (no hard-coded list, so endpoints added later
are covered too) gets a bounded, reproducible number of generated requests, valid and invalid,
sent as a cleared office-staff user over a small ledger. Each response must be no 5xx, carry a
status code, content type and headers the schema documents, and match the documented body; an
operation that needs credentials must refuse the same request without them or with a bad token
(schemathesis' ignored_auth). Separately, every protected operation is called once anonymously."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests import schemathesis_support as support

pytestmark = pytest.mark.django_db

# Loaded through the WSGI app itself, as a client would fetch it; no database needed for that.
APP = support.InTransactionWSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP)
# The coverage phase enumerates every boundary case the schema allows (hundreds per operation),
# which max_examples does not bound; the suite keeps the explicit-examples and fuzzing phases.
schema.config.phases.coverage.enabled = support.COVERAGE_PHASE

# max_examples bounds the generated requests per operation; derandomize makes CI reproducible and
# database=None keeps Hypothesis from writing an example database into the checkout.
BOUNDED = settings(
    max_examples=support.MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def ledger(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module inside a transaction rolled back at its end; each operation's
    test runs in a savepoint inside it, so what one operation writes never reaches the next."""
    with support.module_ledger(django_db_blocker, tmp_path_factory.mktemp("media"), schema.raw_schema) as built:
        yield built


@pytest.fixture(autouse=True)
def _media_root(settings, ledger):
    """Overrides tests/conftest.py's per-test media directory: the ledger's files live in one."""
    settings.MEDIA_ROOT = ledger.media_root


@schema.parametrize()
@BOUNDED
def test_api_conforms_to_schema(case, ledger):
    support.point_at_real_objects(case, ledger)
    case.call_and_validate(headers=ledger.auth_headers, checks=support.CHECKS)


def test_every_protected_operation_refuses_anonymous_requests(ledger):
    """One request per operation without credentials, and one with a bad token: 401 or 403."""
    refused, not_refused = support.call_every_operation_anonymously(schema.raw_schema)
    assert refused, "the schema lists no protected operation"
    assert not_refused == [], not_refused
