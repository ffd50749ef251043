"""Schemathesis against the served OpenAPI document (the REST API and Open311): every operation,
with cases generated from the schema and sent over HTTP with an admin's read+write token,
never answers 500 or shows a stack trace."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings

from bots.app import create_app
from config.settings import Settings
from core import db
from core.accounts import create_account, issue_token

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_service(serve_app, tmp_path_factory):
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi"), run_outbox=False, run_scheduler=False,
                              _env_file=None))
    with serve_app(app) as server:
        engine = app.state.runtime.engine
        with db.session_scope(engine) as session:
            account = create_account(session, "fuzz-admin", "playground:admin", "fuzz-password-1")
            _, token = issue_token(session, account, "fuzz", ["read", "write"])
        server.token = token
        yield server


@pytest.fixture(scope="module")
def api_schema(api_service):
    return schemathesis.openapi.from_url(api_service.url + "/openapi.json")


@pytest.fixture(scope="module")
def api_token(api_service) -> str:
    return api_service.token


schema = schemathesis.pytest.from_fixture("api_schema")
NUMBERED = r"^/api/tickets/\{number\}"  # GET, /comments, /transition
FUZZ = hsettings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


def _call_and_check(case, token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:300])
    assert "Traceback" not in response.text


@schema.exclude(path_regex=NUMBERED).parametrize()
@FUZZ
def test_every_api_operation_answers_without_a_server_error(case, api_token):
    _call_and_check(case, api_token)


@schema.include(path_regex=NUMBERED).parametrize()
@FUZZ
def test_operations_on_one_ticket_answer_without_a_server_error(case, api_token):
    _call_and_check(case, api_token)
