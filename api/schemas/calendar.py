"""The business calendar: holidays and make-up working days."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

YEAR = validate.Range(min=2000, max=2100)


class CalendarArgs(Schema):
    year = fields.Integer(validate=YEAR, metadata={"description": "default: this year"})


class CalendarDaySchema(Schema):
    day = fields.Date(required=True)
    is_workday = fields.Boolean(required=True)
    name = fields.String(required=True)
    source = fields.String(required=True, metadata={"enum": ["library", "admin"]})


class CalendarYearSchema(Schema):
    year = fields.Integer(required=True)
    covered = fields.Boolean(required=True, metadata={"description": "false: only weekends count as days off"})
    official = fields.Boolean(required=True, metadata={"description": "the official schedule with make-up days is in"})
    days = fields.List(fields.Nested(CalendarDaySchema), required=True)


class DayChangeSchema(Schema):
    is_workday = fields.Boolean(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))


class CalendarImportSchema(Schema):
    years = fields.List(fields.Integer(validate=YEAR), required=True, validate=validate.Length(min=1, max=10))


class ImportedYearSchema(Schema):
    year = fields.Integer(required=True)
    official = fields.Boolean(required=True, metadata={"description": "false: statutory holidays only, no make-up days"})
