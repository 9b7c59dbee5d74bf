"""The deadline rules in force, read from the deployed `deadlines.dmn` for administrators.

The decision table is the single source of the limits: this module reads its rows out of the
file the newest petition process version was deployed with, so what it shows is what new
petitions get. It never keeps a copy of the numbers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from engine import Engine
from engine.xmlsafe import parse_definition

from .errors import PetitionError
from .petitions import PROCESS_KEY

DECISION_ID = "deadline_rules"
ANY = ("", "-")  # a DMN input entry that matches every value


class NoDeadlineRules(PetitionError):
    def __init__(self, process_key: str, version: int):
        self.process_key, self.version = process_key, version
        super().__init__(f"version {version} of process {process_key!r} has no decision {DECISION_ID!r}")


@dataclass(frozen=True)
class DecisionRow:
    """One rule of a decision table: input expression → entry (None matches anything), and
    output name → value. Literals are converted; other expressions are kept as written."""

    rule_id: str | None
    description: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class DecisionTable:
    decision_id: str
    name: str | None
    hit_policy: str
    rows: list[DecisionRow]


@dataclass(frozen=True)
class DeadlineRules:
    process_key: str
    version: int
    file: str
    table: DecisionTable


def deadline_rules(session: Session, engine: Engine) -> DeadlineRules:
    """The deadline decision table of the newest petition process version. Raises
    UnknownProcess (not deployed), NoDeadlineRules."""
    version = engine.definitions.get_version(session, PROCESS_KEY)
    for stored in version.files:
        doc = parse_definition(stored.name, stored.content, len(stored.content))
        table = read_decision_table(doc.root, DECISION_ID) if doc.kind == "dmn" else None
        if table is not None:
            return DeadlineRules(version.process_key, version.version, stored.name, table)
    raise NoDeadlineRules(version.process_key, version.version)


def read_decision_table(root: etree._Element, decision_id: str) -> DecisionTable | None:
    """The decision table of `decision_id` in a DMN document, or None when it has none."""
    decision = next((d for d in root.iter("{*}decision") if d.get("id") == decision_id), None)
    table = decision.find("{*}decisionTable") if decision is not None else None
    if table is None:
        return None
    inputs = [_text(i.find("{*}inputExpression")) or i.get("label") or i.get("id") for i in table.findall("{*}input")]
    outputs = [o.get("name") or o.get("id") for o in table.findall("{*}output")]
    rows = []
    for rule in table.findall("{*}rule"):
        entries_in = [_entry(_text(e)) for e in rule.findall("{*}inputEntry")]
        entries_out = [_literal(_text(e)) for e in rule.findall("{*}outputEntry")]
        description = rule.find("{*}description")
        rows.append(DecisionRow(rule.get("id"), description.text if description is not None else None,
                                dict(zip(inputs, entries_in)), dict(zip(outputs, entries_out))))
    return DecisionTable(decision_id, decision.get("name"), table.get("hitPolicy", "UNIQUE"), rows)


def _text(element: etree._Element | None) -> str:
    found = element.find("{*}text") if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _entry(text: str) -> Any:
    return None if text in ANY else _literal(text)


def _literal(text: str) -> Any:
    """`"hours"` → 'hours', `0.8` → 0.8; anything that is no plain literal stays text."""
    if text == "":
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
