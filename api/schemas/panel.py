"""The third-party panel: reply samples, score sets and their averages."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.evaluation.panel import CRITERIA, DEFAULT_SAMPLE_SIZE, TOTAL

MAX_SAMPLE_SIZE = 50
SCALE = "; ".join(f"{c.field} ({c.label}) 0–{c.maximum}" for c in CRITERIA) + f"; {TOTAL} in all"


class SampleArgs(Schema):
    department = fields.String(required=True, validate=validate.Length(min=1, max=32),
                               metadata={"description": "department code"})
    size = fields.Integer(load_default=DEFAULT_SAMPLE_SIZE, validate=validate.Range(min=1, max=MAX_SAMPLE_SIZE))


class SampledReplySchema(Schema):
    id = fields.Integer(required=True)
    tracking_no = fields.String(required=True)
    type = fields.String(required=True)
    category = fields.String(allow_none=True)
    title = fields.String(required=True)
    body = fields.String(allow_none=True, metadata={"description": "phone numbers and e-mail addresses masked"})
    reply = fields.String(allow_none=True, metadata={"description": "phone numbers and e-mail addresses masked"})
    created_at = fields.DateTime(required=True)
    replied_at = fields.DateTime(allow_none=True)
    rating = fields.Integer(allow_none=True)
    solved = fields.Boolean(allow_none=True)
    contact_name = fields.String(allow_none=True, metadata={"description": "masked"})
    contact_phone = fields.String(allow_none=True, metadata={"description": "masked"})
    contact_email = fields.String(allow_none=True, metadata={"description": "masked"})


class SampleSchema(Schema):
    period = fields.String(required=True)
    department = fields.String(required=True)
    items = fields.List(fields.Nested(SampledReplySchema), required=True,
                        metadata={"description": "the same petitions for every request of this period and department"})


class ScoresInSchema(Schema):
    topic_quality = fields.Integer(required=True, strict=True, metadata={"description": "主题质量, 0–30"})
    organisation = fields.Integer(required=True, strict=True, metadata={"description": "组织情况, 0–30"})
    reply_quality = fields.Integer(required=True, strict=True, metadata={"description": "答复情况, 0–40"})
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class ScoreSetSchema(Schema):
    period = fields.String(required=True)
    department_code = fields.String(required=True)
    department_name = fields.String(required=True)
    evaluator = fields.String(required=True)
    topic_quality = fields.Integer(required=True)
    organisation = fields.Integer(required=True)
    reply_quality = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": f"out of {TOTAL}"})
    comment = fields.String(allow_none=True)
    submitted_at = fields.DateTime(required=True, metadata={"description": "first submission"})
    updated_at = fields.DateTime(required=True, metadata={"description": "latest submission"})
    revisions = fields.Integer(required=True, metadata={"description": "how many times it was submitted"})


class PanelAverageSchema(Schema):
    department_code = fields.String(required=True)
    department_name = fields.String(required=True)
    evaluators = fields.Integer(required=True)
    topic_quality = fields.Float(required=True)
    organisation = fields.Float(required=True)
    reply_quality = fields.Float(required=True)
    total = fields.Float(required=True)


class CriterionSchema(Schema):
    field = fields.String(required=True)
    label = fields.String(required=True)
    maximum = fields.Integer(required=True)
    guide = fields.String(required=True)


class PanelScoresSchema(Schema):
    period = fields.String(required=True)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True, metadata={"description": SCALE})
    items = fields.List(fields.Nested(ScoreSetSchema), required=True,
                        metadata={"description": "score sets by department and evaluator (an evaluator's own only)"})
    averages = fields.List(fields.Nested(PanelAverageSchema), required=True,
                           metadata={"description": "per department, over the listed sets"})
