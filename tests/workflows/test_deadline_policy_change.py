"""A changed deadlines.dmn, deployed alone, reaches new petitions; running ones keep their rules."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from tests.workflows.conftest import BPMN_DIR

SHANGHAI = ZoneInfo("Asia/Shanghai")


def end_of(y, m, d):
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI).astimezone(timezone.utc)


def test_new_deadline_rules_apply_to_new_petitions_only(domain, submit):
    before = submit(type="consultation")
    rules = (BPMN_DIR / "deadlines.dmn").read_text(encoding="utf-8")
    consultation_row = rules.index('"consultation"')
    changed = rules[:consultation_row] + rules[consultation_row:].replace("<text>2</text>", "<text>5</text>", 1)
    assert changed != rules
    with domain.db.write() as session:
        deployed = domain.engine.definitions.deploy(session, [("deadlines.dmn", changed.encode())], actor="designer")
    assert {(d.process_key, d.version) for d in deployed} == {("petition", 2), ("triage", 2)}

    after = submit(type="consultation")
    for case in (before, after):
        case.complete("triage_petition", {"decision": "dispatch", "department": "D01"}, "dispatcher")
    assert before.petition().due_at == end_of(2026, 9, 16), "started on version 1: 2 working days"
    assert after.petition().due_at == end_of(2026, 9, 20), "version 2: 5 working days (Sunday Sep 20 is a working day)"
