"""Property-based API test: schemathesis generates requests from /openapi.json; no 5xx.

Every operation gets a few generated requests (valid and invalid), sent over real
HTTP. Besides "no server error", responses must use documented status codes and
content types and match their documented schemas. Bounded to stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from aigc_label.service import Settings, create_app
from tests.service.live import LiveServer, server_settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_dict(create_app(Settings(ledger_enabled=False)).openapi())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("schema")
    policy = tmp / "policy.toml"
    policy.write_text("ocr = false\n")
    with LiveServer(server_settings(tmp, policy_file=str(policy))) as srv:
        yield srv


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("AIGC_TEST_SCHEMA_EXAMPLES", "10")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, server: LiveServer) -> None:
    case.call_and_validate(
        base_url=server.url,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
