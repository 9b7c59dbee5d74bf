"""A completion validated and run ahead of its write transaction (`Petitions.prepare_completion`,
as the API does on SQLite) is saved only for the task and data it was prepared with."""

from __future__ import annotations

import pytest

from workflows.errors import InvalidForm

DISPATCH = {"decision": "dispatch", "department": "D01"}


def prepare(domain, task_id: str, data: dict):
    with domain.db.read() as session:
        return domain.petitions.prepare_completion(session, task_id, data, "dispatcher")


def test_a_prepared_completion_is_saved_for_its_data(domain, submit):
    case = submit()
    task_id = case.tasks()["triage_petition"].id
    prepared = prepare(domain, task_id, DISPATCH)
    with domain.db.write() as session:
        instance = domain.petitions.complete_task(session, task_id, dict(DISPATCH), "dispatcher", prepared=prepared)
    assert instance.revision == prepared.step.revision + 1 and case.petition().department_code == "D01"


def test_other_data_than_prepared_is_validated_and_run_as_given(domain, submit):
    case = submit()
    task_id = case.tasks()["triage_petition"].id
    prepared = prepare(domain, task_id, DISPATCH)
    with pytest.raises(InvalidForm), domain.db.write() as session:
        domain.petitions.complete_task(session, task_id, {"decision": "dispatch"}, "dispatcher", prepared=prepared)
    with domain.db.write() as session:
        domain.petitions.complete_task(session, task_id, {**DISPATCH, "department": "D02"}, "dispatcher", prepared=prepared)
    assert case.petition().department_code == "D02"
