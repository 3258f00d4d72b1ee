"""A bounded schemathesis run over the whole OpenAPI document, as four roles.

Every operation gets generated requests (valid and invalid parameters and bodies), sent with an
admin's, a facilitator's, a member's and an analyst's token against the real database. The run
fails on any 5xx and on any answer that the OpenAPI document does not describe (status code,
content type, body schema). It is derandomised (the same cases each run) and bounded to a few
minutes: ``PARTNERMATCH_FUZZ_EXAMPLES`` raises the number of cases per operation.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from tests.conftest import ADMIN_SECRET, World

EXAMPLES = int(os.environ.get("PARTNERMATCH_FUZZ_EXAMPLES", "10"))
ROLES = ("admin", "facilitator", "member", "analyst")
MEMBERS = ("clinic", "genlab", "cro")
CHECKS: list[Any] = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_world(db: Database) -> World:
    return World(db)


@pytest.fixture(scope="module")
def api_schema(db: Database) -> schemathesis.BaseSchema:
    # The fuzzer sends many wrong tokens from one address: at the real throttle limit most
    # cases would stop at 429 instead of reaching the code behind (tests/test_credentials.py
    # checks the throttle itself).
    app = create_app(ApiSettings(admin_token=ADMIN_SECRET, max_body_bytes=256 * 1024,
                                 auth_failures_per_minute=100_000), database=db)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# Found by this run, owned by the "no 500 from any input" work of issue 11 (not yet landed):
# strict, so the fix shows here as an unexpected pass and the entry goes.
KNOWN: dict[str, str] = {}
def _operations() -> list:
    """Every operation of the OpenAPI document (read from an app without a database)."""
    spec = create_app(ApiSettings(admin_token="unused"), database=None).openapi()
    labels = [f"{method.upper()} {path}" for path, item in spec["paths"].items()
              for method in item]
    return [pytest.param(label, marks=pytest.mark.xfail(strict=True, reason=KNOWN[label]))
            if label in KNOWN else label for label in labels]


def aim(case: Case, world: World) -> None:
    """Point most generated cases at the test network and its members, so that they get past
    the 404s into the code behind (a random id reaches only the lookup)."""
    params = case.path_parameters or {}
    # (Not the network deletion: the world's network must outlive the run.)
    if "nid" in params and case.operation.label not in ("PUT /networks/{nid}",
                                                          "DELETE /networks/{nid}"):
        params["nid"] = world.nid
    if "mid" in params:
        pick = sum(map(ord, str(params["mid"]))) % (len(MEMBERS) + 1)
        if pick < len(MEMBERS):
            params["mid"] = MEMBERS[pick]


@pytest.mark.parametrize("label", _operations())
def test_no_answer_is_a_5xx_or_outside_the_openapi_document(
    label: str, api_schema: schemathesis.BaseSchema, fuzz_world: World
) -> None:
    operation = api_schema.find_operation_by_label(label)
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def fuzz(case: Case) -> None:
        aim(case, fuzz_world)
        for role in ROLES:
            case.call_and_validate(headers=fuzz_world.headers(role),
                                   checks=[*CHECKS, status_code_conformance])

    fuzz()
