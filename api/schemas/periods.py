"""A period of local days given as `from` and `to` query arguments (both included)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema


class PeriodArgs(Schema):
    from_ = fields.Date(data_key="from", metadata={"description": "first day (local time)"})
    to = fields.Date(metadata={"description": "last day, included (local time); default: today"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ValidationError("must not be after `to`", field_name="from")
