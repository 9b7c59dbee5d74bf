"""Department KPIs: the table, one department with the petitions behind its figures."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.evaluation.details import DEFAULT_LIMIT

from .periods import PeriodArgs

FORMATS = ("json", "csv", "xlsx")
MAX_LIMIT = 200


class DepartmentTableArgs(PeriodArgs):
    from_ = fields.Date(data_key="from", metadata={"description": "first receipt day (local time); default: "
                                                                  "the first day of `to`'s quarter"})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS),
                           metadata={"description": "json, or the same table as a csv or xlsx download"})


class DepartmentDetailArgs(PeriodArgs):
    from_ = fields.Date(data_key="from", metadata={"description": "first receipt day (local time); default: "
                                                                  "the first day of `to`'s quarter"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": "petitions listed per figure"})


class RateSchema(Schema):
    numerator = fields.Integer(required=True)
    denominator = fields.Integer(required=True)
    value = fields.Float(required=True, allow_none=True,
                         metadata={"description": "numerator / denominator; null: insufficient data "
                                                  "(denominator below min_sample)"})
    sufficient = fields.Boolean(required=True)


class DepartmentKpisSchema(Schema):
    department_code = fields.String(required=True, allow_none=True, metadata={"description": "null: the city"})
    department_name = fields.String(required=True)
    petitions = fields.Integer(required=True, metadata={"description": "dispatches to the department"})
    on_time_sign = fields.Nested(RateSchema, required=True, metadata={"description": "按时签收率"})
    on_time_completion = fields.Nested(RateSchema, required=True, metadata={"description": "按时办结率"})
    response = fields.Nested(RateSchema, required=True, metadata={"description": "响应率"})
    resolution = fields.Nested(RateSchema, required=True, metadata={"description": "解决率"})
    satisfaction = fields.Nested(RateSchema, required=True, metadata={"description": "满意率"})
    reopen = fields.Nested(RateSchema, required=True, metadata={"description": "重办率"})
    return_ = fields.Nested(RateSchema, required=True, data_key="return", metadata={"description": "退单率"})
    extension = fields.Nested(RateSchema, required=True, metadata={"description": "延期率"})
    avg_reply_days = fields.Float(required=True, allow_none=True, metadata={"description": "working days"})
    p90_reply_days = fields.Float(required=True, allow_none=True, metadata={"description": "working days"})
    urges = fields.Integer(required=True, metadata={"description": "催办"})
    supervision_orders = fields.Integer(required=True, metadata={"description": "督办"})
    public_notices = fields.Integer(required=True, metadata={"description": "通报"})
    open_overdue = fields.Integer(required=True, metadata={"description": "open and overdue now"})


class KpiTableSchema(Schema):
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    min_sample = fields.Integer(required=True)
    departments = fields.List(fields.Nested(DepartmentKpisSchema), required=True)
    city = fields.Nested(DepartmentKpisSchema, required=True)


class PetitionRefSchema(Schema):
    id = fields.Integer(required=True)
    tracking_no = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)


class PetitionListSchema(Schema):
    total = fields.Integer(required=True)
    petitions = fields.List(fields.Nested(PetitionRefSchema), required=True)


class DepartmentReportSchema(Schema):
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    min_sample = fields.Integer(required=True)
    kpis = fields.Nested(DepartmentKpisSchema, required=True)
    petitions = fields.Dict(keys=fields.String(), values=fields.Nested(PetitionListSchema), required=True,
                            metadata={"description": "per figure (on_time_sign, ..., escalated, open_overdue), "
                                                     "the petitions counted against the department"})
