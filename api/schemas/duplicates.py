"""Near-duplicate petitions and merging one into another."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.statuses import PetitionStatus

from ..docs import MAX_ID


class DuplicateSchema(Schema):
    id = fields.Integer(required=True)
    tracking_no = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Enum(PetitionStatus, by_value=True, required=True)
    department_code = fields.String(allow_none=True)
    score = fields.Float(required=True, metadata={"description": "similarity in [0, 1] (place and matter)"})


class DuplicateListSchema(Schema):
    items = fields.List(fields.Nested(DuplicateSchema), required=True, metadata={
        "description": "open petitions found near-duplicate at intake, most similar first"})


class MergeSchema(Schema):
    into = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID),
                          metadata={"description": "id of the original petition the duplicate will follow"})
