"""Upload through the API, process with a real worker process on real Redis, read quotations."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.api.helpers import login, new_project, prepare_database
from tests.support import wait_for

TRANSCRIPT = """---
respondent: Int P9
casus: Gemeente P
rol: beleidsmedewerker wonen
---
I: Kunt u iets vertellen over de samenwerking rond langer zelfstandig wonen?
R: Ja, nou, we zitten met de corporaties en de zorgaanbieders eigenlijk aan heel veel verschillende tafels. \
Er is een regionaal overleg, een lokaal overleg, en dan nog een werkgroep, en daar wordt vaak precies hetzelfde besproken.
I: En hoe is dat binnen de gemeente zelf geregeld?
R: Intern is dat lastig hoor. De afdeling wonen en de afdeling zorg weten vaak niet van elkaar waar ze mee bezig zijn. \
We hebben nu wel één aanspreekpunt aangewezen, dat helpt al een beetje.
I: Is de wethouder er ook bij betrokken?
R: Nou, beperkt. Bestuurlijk commitment is er eigenlijk nauwelijks, de wethouder komt nooit naar het overleg.
I: Dank u wel.
R: Graag gedaan.
"""


@pytest.mark.slow
def test_end_to_end_upload_is_processed_into_exact_quotations(database_url, redis_url, make_settings, workers) -> None:
    settings = make_settings(database_url=database_url, redis_url=redis_url)
    prepare_database(settings, ("admin", True))
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin")
        project = new_project(client, headers)
        upload = client.post(
            f"/api/v1/projects/{project['id']}/transcripts",
            files=[("files", ("interview_p9.txt", TRANSCRIPT.encode("utf-8"), "text/plain"))],
            headers=headers,
        )
        assert upload.status_code == 202, upload.text
        (transcript,) = upload.json()
        assert transcript["status"] == "queued"
        assert transcript["respondent_id"] == "Int P9" and transcript["case_name"] == "Gemeente P"
        assert transcript["turns"] == 8

        workers.start(settings)

        def finished() -> dict | None:
            status = client.get(f"/api/v1/transcripts/{transcript['id']}/status", headers=headers).json()
            return status if status["status"] in ("done", "failed") else None

        status = wait_for(finished, timeout=240, interval=0.5, message="the worker to process the transcript")
        assert status["status"] == "done", status
        assert status["progress"] == 100 and status["attempts"] == 1

        stored = client.get(f"/api/v1/transcripts/{transcript['id']}", headers=headers).json()
        quotations = client.get(f"/api/v1/transcripts/{transcript['id']}/quotations", headers=headers).json()

    text = stored["text"]
    respondent_spans = [(t["start"], t["end"]) for t in stored["turn_spans"] if t["role"] == "respondent"]
    assert quotations, "the model suggested no quotation for an interview full of knelpunten"
    for quotation in quotations:
        assert quotation["text"] == text[quotation["start"]:quotation["end"]]
        assert any(start <= quotation["start"] < quotation["end"] <= end for start, end in respondent_spans)
        assert quotation["speaker"] == "R"
        assert quotation["codes"] and all(0.0 < code["score"] <= 1.0 for code in quotation["codes"])
        assert quotation["model_version"] and quotation["data_snapshot"].startswith("sha256:")
        assert quotation["stance"] in ("knelpunt", "oplossing", "succesfactor", "neutraal")
    knelpunt_numbers = {c["number"] for q in quotations for c in q["codes"] if c["kind"] == "knelpunt"}
    assert knelpunt_numbers & {3, 12, 14}, f"expected overlap, afstemming or betrokkenheid among {knelpunt_numbers}"
