"""The review API: decisions as events with reviewer and time, per-reviewer states, conflicts,
roles, the queue, progress and the code manager, on real databases through the real app."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.api.helpers import prepare_database
from tests.api.review_support import MODEL_VERSION, SCORES, decide, document, review_api, seed_processed  # noqa: F401


def test_review_document_shows_text_turns_and_machine_suggestions(review_api) -> None:
    client, _settings, _project, transcript_id, users = review_api
    doc = document(client, transcript_id, users["rita"])

    text = doc["text"]
    assert doc["can_decide"] is True and doc["role"] == "reviewer"
    assert [t["role"] for t in doc["turns"]] == ["interviewer", "respondent"] * 2 + ["interviewer"]
    expected = [codes for codes in SCORES if codes]
    assert len(doc["quotations"]) == len(expected) == doc["progress"]["total"]
    for quotation, codes in zip(doc["quotations"], expected):
        assert quotation["text"] == text[quotation["start"]:quotation["end"]]
        assert quotation["status"] == "unreviewed" and quotation["last_event_id"] is None
        assert {c["id"]: c["score"] for c in quotation["machine"]["codes"]} == codes
        assert quotation["codes"] == sorted(codes, key=lambda c: -codes[c])
        assert quotation["confidence"] == max(codes.values())
        assert quotation["machine"]["model_version"] == MODEL_VERSION
    assert len(doc["sentences"]) == len(SCORES)
    assert doc["progress"]["reviewed"] == 0 and doc["transcript"]["review_status"] == "ready"


def test_review_each_decision_is_an_event_with_reviewer_and_time(review_api) -> None:
    client, _settings, _project, transcript_id, users = review_api
    rita = users["rita"]
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    q = document(client, transcript_id, rita)["quotations"]

    confirmed = decide(client, q[0], rita, "confirm")
    rejected = decide(client, q[1], rita, "reject")
    relabelled = decide(client, q[2], rita, "relabel", {"from": "KP12", "to": "KP02"})
    assert confirmed.status_code == rejected.status_code == relabelled.status_code == 201, relabelled.text
    second = relabelled.json()["quotation"]
    added = decide(client, second, rita, "add_code", {"code_id": "OPL-INTERNE-AFSTEMMING"})
    stance = decide(client, added.json()["quotation"], rita, "set_stance", {"stance": "oplossing"})
    start, end = second["start"], second["end"]
    respan = decide(client, stance.json()["quotation"], rita, "respan", {"start": start, "end": end - 1})
    memo = decide(client, respan.json()["quotation"], rita, "comment", {"text": "Interne afstemming, niet integraliteit?"})
    assert all(r.status_code == 201 for r in (added, stance, respan, memo)), memo.text

    final = memo.json()["quotation"]
    assert final["codes"] == ["KP02", "OPL-INTERNE-AFSTEMMING"] and final["rejected_codes"] == ["KP12"]
    assert final["stance"] == "oplossing" and final["status"] == "edited" and final["end"] == end - 1
    assert final["comments"][0]["text"].startswith("Interne afstemming")
    assert final["machine"]["codes"] == [{"id": "KP12", "score": 0.55}]  # the suggestion itself is untouched
    assert final["machine"]["end"] == end

    doc = document(client, transcript_id, rita)
    states = {x["id"]: x for x in doc["quotations"]}
    assert states[q[0]["id"]]["status"] == "confirmed"
    assert states[q[1]["id"]]["status"] == "rejected" and states[q[1]["id"]]["codes"] == []
    assert doc["progress"]["reviewed"] == 3 and doc["transcript"]["review_status"] == "in_review"

    events = client.get(f"/api/v1/transcripts/{transcript_id}/review/events", headers=users["rosa"]).json()
    assert [e["action"] for e in events] == ["confirm", "reject", "relabel", "add_code", "set_stance", "respan", "comment"]
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    for event in events:
        assert event["reviewer"] == "rita"
        assert before <= datetime.fromisoformat(event["created_at"]) <= now
    assert events[2]["payload"] == {"from": "KP12", "to": "KP02"}
    history = client.get(f"/api/v1/quotations/{q[2]['id']}/events", headers=rita).json()
    assert [e["based_on_event_id"] for e in history] == [None, *[e["id"] for e in history[:-1]]]


def test_review_stale_decision_is_refused_and_changes_nothing(review_api) -> None:
    client, _settings, _project, transcript_id, users = review_api
    rita = users["rita"]
    quotation = document(client, transcript_id, rita)["quotations"][0]
    assert decide(client, quotation, rita, "relabel", {"from": "KP03", "to": "KP01"}).status_code == 201

    stale = decide(client, quotation, rita, "relabel", {"from": "KP03", "to": "KP02"})  # from the old state

    assert stale.status_code == 409 and stale.json()["code"] == "E300"
    current = document(client, transcript_id, rita)["quotations"][0]
    assert current["codes"] == ["KP01"]
    assert stale.json()["details"]["latest_event_id"] == current["last_event_id"]


def test_review_concurrent_decisions_never_lose_a_change(review_api) -> None:
    client, _settings, _project, transcript_id, users = review_api
    quotation = document(client, transcript_id, users["rita"])["quotations"][0]
    codes = ["KP01", "KP02", "KP05", "KP06", "KP07", "KP08"]
    barrier = threading.Barrier(len(codes))
    results: dict[str, int] = {}

    def add(code_id: str, headers: dict) -> None:
        barrier.wait()
        results[code_id] = decide(client, quotation, headers, "add_code", {"code_id": code_id}).status_code

    threads = [threading.Thread(target=add, args=(c, users["rita"] if i % 2 else users["rob"])) for i, c in enumerate(codes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [c for c, status in results.items() if status == 201]
    assert len(results) == len(codes) and len(winners) == 1, results
    assert all(status == 409 for c, status in results.items() if c not in winners), results
    everyone = document(client, transcript_id, users["rosa"], reviewer="all")["quotations"][0]
    assert everyone["codes"] == ["KP03", winners[0]]
    events = client.get(f"/api/v1/quotations/{quotation['id']}/events", headers=users["rosa"]).json()
    assert len(events) == 1


def test_review_two_reviewers_review_independently(review_api) -> None:
    client, _settings, _project, transcript_id, users = review_api
    rita, rob = users["rita"], users["rob"]
    seen_by_rob = document(client, transcript_id, rob)["quotations"][0]
    quotation = document(client, transcript_id, rita)["quotations"][0]
    assert decide(client, quotation, rita, "confirm").status_code == 201

    conflict = decide(client, seen_by_rob, rob, "reject")
    assert conflict.status_code == 409  # rob must see that someone decided since he loaded it
    reloaded = client.get(f"/api/v1/quotations/{quotation['id']}/review?reviewer=me", headers=rob).json()
    assert reloaded["status"] == "unreviewed"  # his own view is untouched by rita's decision
    assert decide(client, reloaded, rob, "reject").status_code == 201

    assert document(client, transcript_id, rita)["quotations"][0]["status"] == "confirmed"
    assert document(client, transcript_id, rob)["quotations"][0]["status"] == "rejected"
    rita_id = client.get("/api/v1/auth/me", headers=rita).json()["id"]
    as_rita = document(client, transcript_id, users["rosa"], reviewer=str(rita_id))["quotations"][0]
    assert as_rita["status"] == "confirmed" and as_rita["reviewers"] == [rita_id]
    together = document(client, transcript_id, users["rosa"], reviewer="all")["quotations"][0]
    assert together["status"] == "rejected" and len(together["reviewers"]) == 2


def test_review_roles_decide_read_or_see_nothing(review_api) -> None:
    client, _settings, project, transcript_id, users = review_api
    quotation = document(client, transcript_id, users["rita"])["quotations"][0]
    researcher, outsider = users["rosa"], users["otto"]

    as_researcher = document(client, transcript_id, researcher)
    assert as_researcher["can_decide"] is False and as_researcher["role"] == "researcher"
    assert decide(client, quotation, researcher, "confirm").status_code == 403
    create = client.post(f"/api/v1/transcripts/{transcript_id}/review/quotations",
                         json={"start": quotation["start"], "end": quotation["end"], "codes": ["KP01"]}, headers=researcher)
    assert create.status_code == 403

    reads = [
        f"/api/v1/transcripts/{transcript_id}/review", f"/api/v1/transcripts/{transcript_id}/review/events",
        f"/api/v1/quotations/{quotation['id']}/review", f"/api/v1/quotations/{quotation['id']}/events",
        f"/api/v1/projects/{project['id']}/review/queue", f"/api/v1/projects/{project['id']}/review/progress",
        f"/api/v1/projects/{project['id']}/review/codes", f"/api/v1/projects/{project['id']}/review/codes/KP03/quotations",
    ]
    for url in reads:
        assert client.get(url, headers=researcher).status_code == 200, url
        hidden = client.get(url, headers=outsider)
        assert hidden.status_code == 404, url
        assert "tafels" not in hidden.text and quotation["text"] not in hidden.text
    assert decide(client, quotation, outsider, "confirm").status_code == 404
    assert client.get("/api/v1/quotations/no-such-id/review", headers=outsider).status_code == 404
    events = client.get(f"/api/v1/transcripts/{transcript_id}/review/events", headers=researcher).json()
    assert events == []


def test_review_new_quotation_is_the_creators_and_undo_withdraws_it(review_api) -> None:
    client, _settings, _project, transcript_id, users = review_api
    rita, rob = users["rita"], users["rob"]
    doc = document(client, transcript_id, rita)
    start = doc["text"].index("Dank u wel")
    end = start + len("Dank u wel")

    created = client.post(f"/api/v1/transcripts/{transcript_id}/review/quotations",
                          json={"start": start, "end": end, "codes": ["KP10"], "stance": "neutraal"}, headers=rita)

    assert created.status_code == 201, created.text
    body = created.json()
    new = body["quotation"]
    assert new["origin"] == "reviewer" and new["text"] == "Dank u wel" and new["codes"] == ["KP10"]
    assert new["machine"] is None and new["confidence"] is None and body["event"]["action"] == "create"
    assert any(q["id"] == new["id"] for q in document(client, transcript_id, rita)["quotations"])
    assert all(q["id"] != new["id"] for q in document(client, transcript_id, rob)["quotations"])

    undo = decide(client, new, rita, "undo", {"event_id": body["event"]["id"]})
    assert undo.status_code == 201 and undo.json()["quotation"]["visible"] is False
    assert all(q["id"] != new["id"] for q in document(client, transcript_id, rita)["quotations"])
    assert decide(client, undo.json()["quotation"], rob, "undo", {"event_id": body["event"]["id"]}).status_code == 400


def test_review_refuses_unknown_codes_and_bad_spans(review_api) -> None:
    client, settings, project, transcript_id, users = review_api
    rita = users["rita"]
    quotation = document(client, transcript_id, rita)["quotations"][0]
    unknown = decide(client, quotation, rita, "add_code", {"code_id": "KP99"})
    outside = decide(client, quotation, rita, "respan", {"start": 5, "end": 10**6})
    newline = document(client, transcript_id, rita)["text"].index("\nI:")
    blank = client.post(f"/api/v1/transcripts/{transcript_id}/review/quotations",
                        json={"start": newline, "end": newline + 1, "codes": ["KP01"]}, headers=rita)
    assert unknown.status_code == 422 and unknown.json()["code"] == "E111"
    assert outside.status_code == 400 and blank.status_code == 400
    assert decide(client, quotation, rita, "create", {"codes": ["KP01"]}).status_code == 422  # not a decision

    waiting = seed_processed(settings, project["id"], respondent="Int P2", status="queued")
    early = client.post(f"/api/v1/transcripts/{waiting}/review/quotations",
                        json={"start": 200, "end": 220, "codes": ["KP01"]}, headers=rita)
    assert early.status_code == 409 and "queued" in early.json()["message"]


def test_review_queue_document_order_or_lowest_confidence_first(review_api) -> None:
    client, settings, project, transcript_id, users = review_api
    rita = users["rita"]
    second = seed_processed(settings, project["id"], respondent="Int Q1", case="Gemeente Q",
                            scores=[{"KP01": 0.2}, {}, {"KP05": 0.95}, {}, {}, {"KP19": 0.4}])
    url = f"/api/v1/projects/{project['id']}/review/queue"

    in_order = client.get(url, params={"mode": "document"}, headers=rita).json()
    uncertain = client.get(url, params={"mode": "uncertainty"}, headers=rita).json()

    assert [i["transcript_id"] for i in in_order] == [transcript_id] * 5 + [second] * 3
    assert [i["start"] for i in in_order[:5]] == sorted(i["start"] for i in in_order[:5])
    confidences = [i["confidence"] for i in uncertain]
    assert confidences == sorted(confidences) and confidences[0] == 0.2 and confidences[-1] == 0.95
    assert {i["transcript_id"] for i in uncertain[:3]} == {transcript_id, second}

    lowest = client.get(f"/api/v1/quotations/{uncertain[0]['quotation_id']}/review", headers=rita).json()
    assert decide(client, lowest, rita, "reject").status_code == 201
    after = client.get(url, params={"mode": "uncertainty"}, headers=rita).json()
    assert [i["quotation_id"] for i in after] == [i["quotation_id"] for i in uncertain[1:]]
    assert len(client.get(url, params={"mode": "uncertainty", "include_reviewed": True}, headers=rita).json()) == 8
    assert client.get(url, params={"mode": "random"}, headers=rita).status_code == 422


def test_review_progress_overview_and_code_manager(review_api) -> None:
    client, settings, project, transcript_id, users = review_api
    rita = users["rita"]
    waiting = seed_processed(settings, project["id"], respondent="Int P2", status="processing")
    quotations = document(client, transcript_id, rita)["quotations"]
    for quotation in quotations[:-1]:
        assert decide(client, quotation, rita, "confirm").status_code == 201
    assert decide(client, quotations[-1], rita, "reject").status_code == 201

    overview = client.get(f"/api/v1/projects/{project['id']}/review/progress", headers=rita).json()
    rows = {r["transcript_id"]: r for r in overview}
    assert rows[transcript_id]["review_status"] == "reviewed"
    assert rows[transcript_id]["progress"] == {"total": 5, "reviewed": 5, "confirmed": 4, "rejected": 1, "edited": 0}
    assert rows[waiting]["review_status"] == "processing" and rows[waiting]["processing"]["percent"] == 0
    others = client.get(f"/api/v1/projects/{project['id']}/review/progress", headers=users["rob"]).json()
    assert {r["transcript_id"]: r for r in others}[transcript_id]["review_status"] == "ready"

    counts = {c["id"]: c for c in client.get(f"/api/v1/projects/{project['id']}/review/codes", headers=rita).json()}
    assert counts["KP03"]["suggested"] == 2 and counts["KP03"]["confirmed"] == 2
    assert counts["KP14"]["rejected"] == 1 and counts["KP04"]["rejected"] == 1 and counts["KP14"]["confirmed"] == 0
    codebook = client.get(f"/api/v1/projects/{project['id']}/codebook", headers=rita).json()
    coded = [c["id"] for c in codebook["codes"] if c["kind"] in ("knelpunt", "oplossing")]
    assert counts["KP01"]["suggested"] == 0 and list(counts) == coded
    assert counts["KP03"]["respondents"] == 1
    fresh = {c["id"]: c for c in client.get(f"/api/v1/projects/{project['id']}/review/codes", headers=users["rob"]).json()}
    assert fresh["KP03"]["open"] == 2 and fresh["KP03"]["confirmed"] == 0

    listed = client.get(f"/api/v1/projects/{project['id']}/review/codes/3/quotations", headers=rita).json()
    assert [q["respondent_id"] for q in listed] == ["Int P1", "Int P1"]
    assert all(q["outcome"] == "confirmed" and q["case_name"] == "Gemeente P" for q in listed)
    assert listed[0]["text"] == "We zitten aan heel veel verschillende tafels."
    rejected = client.get(f"/api/v1/projects/{project['id']}/review/codes/KP14/quotations", headers=rita).json()
    assert rejected == []
    with_rejected = client.get(f"/api/v1/projects/{project['id']}/review/codes/KP14/quotations",
                               params={"include_rejected": True}, headers=rita).json()
    assert [q["outcome"] for q in with_rejected] == ["rejected"]


def test_review_screen_is_served_without_authentication(sqlite_url, redis_url, make_settings) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    prepare_database(settings)
    with TestClient(create_app(settings)) as client:
        page = client.get("/review/")
        script = client.get("/review/js/app.js")
        redirect = client.get("/review", follow_redirects=False)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script type="module" src="js/app.js">' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN: everything is local
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert redirect.status_code in (301, 307) and redirect.headers["location"].endswith("/review/")
