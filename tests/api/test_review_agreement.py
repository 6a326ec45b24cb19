"""Agreement through the API: model vs reviewer and reviewer vs reviewer, per sentence, with the
comparisons the code manager offers, on the seeded review project (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from tests.api.review_support import decide, document, review_api  # noqa: F401

# Decisions on the five model quotations (sentences 0, 1, 3, 4, 5; sentence 2 has none).
RITA = [("confirm", None), ("confirm", None), ("relabel", {"from": "KP12", "to": "KP02"}), ("confirm", None),
        ("reject", None)]
ROB = [("confirm", None), ("reject", None), ("confirm", None), ("confirm", None), ("reject", None)]


def _review(client, transcript_id: str, headers: dict, decisions) -> None:  # noqa: ANN001
    for quotation, (action, payload) in zip(document(client, transcript_id, headers)["quotations"], decisions):
        assert decide(client, quotation, headers, action, payload).status_code == 201


def test_review_agreement_of_two_reviewers_per_sentence(review_api) -> None:
    client, _settings, project, transcript_id, users = review_api
    ids = {name: client.get("/api/v1/auth/me", headers=users[name]).json()["id"] for name in ("rita", "rob")}
    _review(client, transcript_id, users["rita"], RITA)
    _review(client, transcript_id, users["rob"], ROB)
    url = f"/api/v1/projects/{project['id']}"

    body = client.get(f"{url}/agreement", params={"first": ids["rita"], "second": ids["rob"]},
                      headers=users["rosa"]).json()

    # Five sentences both decided. KP03: rita on sentences 0 and 1, rob on 0 only:
    # p_o = 4/5, p_e = (2*1 + 3*4)/25 = 14/25, kappa = (20/25 - 14/25) / (11/25) = 6/11; F1 = 2/3.
    assert body["unit"] == "sentence" and body["overall"]["sentences"] == 5 and body["transcripts"] == 1
    kp03 = body["per_code"]["KP03"]
    assert kp03["kappa"] == pytest.approx(6 / 11, abs=1e-4) and kp03["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert kp03["n"] == 2 and kp03["enough_data"] is False
    assert body["per_code"]["KP02"]["n"] == 1 and body["per_code"]["KP02"]["f1"] == 0.0
    assert body["per_code"]["OPL-EEN-AANSPREEKPUNT"]["agreement"] == 1.0
    assert body["per_code"]["KP01"]["n"] == 0 and body["per_code"]["KP01"]["kappa"] is None
    # Exactly equal on sentences 0, 4 and 5 (rob's rejection of 1 and the relabelled 3 differ).
    assert body["overall"]["exact_match"] == pytest.approx(3 / 5)
    assert body["overall"]["enough_data"] is False and "Too little data" in body["note"]

    alias = client.get(f"{url}/review/agreement", params={"a": ids["rita"], "b": ids["rob"]}, headers=users["rosa"])
    assert alias.status_code == 200 and alias.json() == body  # one implementation behind both routes

    model = client.get(f"{url}/agreement", params={"first": "model", "second": "me"}, headers=users["rob"]).json()
    # The model kept every quotation; rob rejected two (one of them with two codes): F1 = 2*3 / (2*3 + 3 + 0).
    assert model["raters"] == ["model", ids["rob"]] and model["overall"]["sentences"] == 5
    assert model["overall"]["precision"] == pytest.approx(3 / 6, abs=1e-4) and model["overall"]["recall"] == 1.0
    assert model["overall"]["f1"] == pytest.approx(6 / 9, abs=1e-4)


def test_review_agreement_comparisons_and_access(review_api) -> None:
    client, _settings, project, transcript_id, users = review_api
    url = f"/api/v1/projects/{project['id']}"
    assert client.get(f"{url}/agreement/comparisons", headers=users["rosa"]).json() == {"reviewers": [],
                                                                                        "comparisons": []}
    _review(client, transcript_id, users["rita"], RITA[:2])
    _review(client, transcript_id, users["rob"], ROB[:1])

    choices = client.get(f"{url}/agreement/comparisons", headers=users["rosa"]).json()

    ids = {r["username"]: r["id"] for r in choices["reviewers"]}
    assert [(r["username"], r["decisions"], r["transcripts"]) for r in choices["reviewers"]] == [
        ("rita", 2, 1), ("rob", 1, 1)]
    assert [(c["first"], c["second"], c["label"]) for c in choices["comparisons"]] == [
        ("model", ids["rita"], "model vs rita"), ("model", ids["rob"], "model vs rob"),
        (ids["rita"], ids["rob"], "rita vs rob")]
    few = client.get(f"{url}/agreement", params={"first": ids["rita"], "second": ids["rob"]}, headers=users["rita"])
    assert few.json()["overall"]["sentences"] == 1 and "only 1 sentence " in few.json()["note"]
    outsider_id = client.get("/api/v1/auth/me", headers=users["otto"]).json()["id"]
    assert client.get(f"{url}/agreement", params={"first": "model", "second": outsider_id},
                      headers=users["rita"]).status_code == 404  # not a member: no such rater here
    for path in ("agreement", "agreement/comparisons", f"review/agreement?a={ids['rita']}&b={ids['rob']}"):
        assert client.get(f"{url}/{path}", headers=users["otto"]).status_code == 404, path
    same = client.get(f"{url}/agreement", params={"first": "me", "second": ids["rita"]}, headers=users["rita"])
    assert same.status_code == 400
