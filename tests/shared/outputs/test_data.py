"""Which quotations count: confirmed ones, attributed to the last decider; machine ones only when asked."""
from __future__ import annotations

from services.shared.outputs.data import project_codings
from services.shared.tables import Project


def test_data_confirmed_only_by_default(codings):
    texts = {q.text: q for q in codings.quotations}
    assert all(q.confirmed for q in codings.quotations)
    assert "Is de wethouder betrokken?" not in texts  # rejected
    assert "Een gezamenlijk budget loste dat op." not in texts  # unreviewed machine suggestion
    confirmed_model = texts["de wethouder komt nooit naar het overleg"]
    assert confirmed_model.origin == "model" and codings.users[confirmed_model.decided_by].username == "bram"
    assert len(codings.quotations) == 6


def test_data_machine_suggestions_when_asked(seeded):
    _, db, ids = seeded
    with db.transaction() as session:
        project = session.get(Project, ids.project_id)
        machine = [q for q in project_codings(session, project, include_machine=True).quotations if not q.confirmed]
        above = project_codings(session, project, include_machine=True, min_confidence=0.8).quotations
    assert [(q.text, q.codes, q.scores, q.model_version) for q in machine] == [
        ("Een gezamenlijk budget loste dat op.", ["KP19"], {"KP19": 0.71}, "test-model-1")]
    assert all(q.confirmed for q in above)
