"""Escalations: the supervision ladder's rungs reached by petitions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.escalations import STATES
from workflows.scripts import ESCALATION_LEVELS

from ..docs import MAX_ID
from ..pagination import PageArgs, page_schema


class EscalationSchema(Schema):
    id = fields.Integer(required=True)
    petition_id = fields.Integer(required=True)
    tracking_no = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "the petition's title"})
    level = fields.String(required=True, metadata={"enum": list(ESCALATION_LEVELS)})
    department_code = fields.String(allow_none=True, metadata={"description": "the department responsible then"})
    deadline = fields.DateTime(allow_none=True, metadata={"description": "the handling deadline that was missed (UTC)"})
    created_at = fields.DateTime(required=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)


class EscalationArgs(PageArgs):
    level = fields.String(validate=validate.OneOf(ESCALATION_LEVELS))
    department = fields.String(metadata={"description": "department code (a handler always sees only their own)"})
    state = fields.String(validate=validate.OneOf(STATES))
    petition = fields.Integer(validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "petition id"})


EscalationPageSchema = page_schema(EscalationSchema, "EscalationPage")
