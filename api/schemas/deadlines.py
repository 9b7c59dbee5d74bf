"""The deadline rules, as rows of the deployed decision table."""

from __future__ import annotations

from marshmallow import Schema, fields

from workflows.calendar import UNITS as UNIT_NAMES

UNITS = list(UNIT_NAMES)


class DeadlineRuleSchema(Schema):
    """One row of the deadline decision table; null inputs match anything."""

    rule_id = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    type = fields.Raw(attribute="inputs.type", allow_none=True, metadata={"description": "petition type"})
    urgency = fields.Raw(attribute="inputs.urgency", allow_none=True)
    sign_limit = fields.Raw(attribute="outputs.sign_limit", metadata={"description": "number of sign units"})
    sign_unit = fields.Raw(attribute="outputs.sign_unit", metadata={"enum": UNITS})
    handle_limit = fields.Raw(attribute="outputs.handle_limit")
    handle_unit = fields.Raw(attribute="outputs.handle_unit", metadata={"enum": UNITS})
    max_extension = fields.Raw(attribute="outputs.max_extension", metadata={"description": "days of extension at most"})
    warn_ratio = fields.Raw(attribute="outputs.warn_ratio", metadata={"description": "share of the time before a warning"})


class DeadlineRulesSchema(Schema):
    process_key = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the process version the rules come with"})
    file = fields.String(required=True)
    decision_id = fields.String(required=True, attribute="table.decision_id")
    hit_policy = fields.String(required=True, attribute="table.hit_policy")
    rules = fields.List(fields.Nested(DeadlineRuleSchema), required=True, attribute="table.rows")
