"""The assignment facts kept in step with petitions, when several steps share one transaction."""

from __future__ import annotations

from sqlalchemy import select

from engine import HumanTask
from workflows.evaluation import facts
from workflows.evaluation.models import KpiAssignment


def _complete(domain, session, case, spec: str, data: dict) -> None:
    task = session.scalars(select(HumanTask).where(HumanTask.instance_id == case.petition().instance_id,
                                                   HumanTask.task_spec == spec, HumanTask.status == "open")).one()
    domain.petitions.complete_task(session, task.id, data, "staff")


def test_the_steps_of_one_transaction_change_the_assignment_the_earlier_ones_made(domain, submit):
    """The latest assignment is looked up once per transaction: the one a step of the same
    transaction added must be the one the next step changes, and the rebuild must agree."""
    case = submit()
    with domain.db.write() as session:
        _complete(domain, session, case, "triage_petition", {"decision": "dispatch", "department": "D01"})
        _complete(domain, session, case, "sign_for", {"sign_decision": "sign"})
        _complete(domain, session, case, "handle", {"action": "transfer", "transfer_to": "D02"})
        _complete(domain, session, case, "sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"})
    with domain.db.read() as session:
        live = [(a.department_code, a.sign_outcome, a.outcome) for a in session.scalars(
            select(KpiAssignment).where(KpiAssignment.petition_id == case.petition_id).order_by(KpiAssignment.id))]
        replayed = [(a.department_code, a.sign_outcome, a.outcome)
                    for a in facts.replay(session, [case.petition_id], domain.calendar.get())]
    assert live == [("D01", "signed", "transferred"), ("D02", "returned", "returned")]
    assert replayed == live
