"""Property-based fuzzing of every operation from the OpenAPI schema: no request may cause a server error."""
from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from services.api.app import create_app
from tests.api.helpers import login, prepare_database

# Generated examples per operation and mode (valid and invalid data); each is also sent with the real
# ids of an existing project and transcript, so that fuzzed bodies and queries reach the handlers' logic.
MAX_EXAMPLES = 12
TEXT = "I: Hoe gaat de samenwerking?\nR: Het overleg is versnipperd. Iedereen zit aan andere tafels.\n"


@pytest.fixture
def fuzz_world(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    """A running app, an admin's token and the ids of real objects."""
    app_settings = make_settings(database_url=sqlite_url, redis_url=redis_url, pseudonymise_recogniser="rules",
                                 pseudonym_key_secret="k" * 40, max_upload_bytes=256 * 1024)
    prepare_database(app_settings, ("root", True))
    app = create_app(app_settings)
    with TestClient(app) as client:  # runs the lifespan: the database and Redis are open while fuzzing
        headers = login(client, "root")
        project = client.post("/api/v1/projects", json={"name": "fuzz"}, headers=headers).json()
        (transcript,) = client.post(f"/api/v1/projects/{project['id']}/transcripts",
                                    files=[("files", ("t.txt", TEXT.encode(), "text/plain"))], headers=headers).json()
        ids = {"project_id": project["id"], "transcript_id": transcript["id"]}
        yield app, headers, ids


@pytest.mark.slow  # about a minute: every operation, valid and invalid data, random and real ids
def test_fuzz_schemathesis_no_server_error(fuzz_world) -> None:
    app, headers, ids = fuzz_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      derandomize=True, phases=[Phase.generate], database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def probe(case) -> None:  # noqa: ANN001
                _call(case, headers, failures)
                if case.method != "DELETE" and set(ids) & set(case.path_parameters or {}):
                    case.path_parameters = {**case.path_parameters,
                                            **{k: v for k, v in ids.items() if k in case.path_parameters}}
                    _call(case, headers, failures)

            try:
                probe()
            except Unsatisfiable:
                # Nothing can be invalid in an operation without parameters or body (GET /health).
                assert mode is GenerationMode.NEGATIVE, (operation.method, operation.path)
    assert not failures, "\n".join(failures[:20])


def _call(case, headers: dict, failures: list[str]) -> None:  # noqa: ANN001
    response = case.call(headers={**headers, **(case.headers or {})})
    if response.status_code >= 500:
        failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")
