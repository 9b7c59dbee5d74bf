"""Hotspot topics of a period."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .periods import PeriodArgs

MAX_LIMIT = 50


class HotspotArgs(PeriodArgs):
    from_ = fields.Date(data_key="from",
                        metadata={"description": "first day (local time); default: 29 days before `to`"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_LIMIT))


class RepresentativeSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "petition id"})
    title = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class TopicSchema(Schema):
    key = fields.String(required=True, metadata={"description": "stable for the same place and key terms"})
    label = fields.String(required=True)
    terms = fields.List(fields.String(), required=True, metadata={"description": "key terms, most particular first"})
    place = fields.String(allow_none=True, metadata={"description": "district and estate/road the petitions name"})
    petitions = fields.Integer(required=True)
    petitioners = fields.Integer(required=True, metadata={"description": "distinct petitioners"})
    likes = fields.Integer(required=True)
    dislikes = fields.Integer(required=True)
    first_at = fields.DateTime(required=True)
    last_at = fields.DateTime(required=True)
    recent = fields.Integer(required=True, metadata={"description": "petitions in the last 7 days of the period"})
    previous = fields.Integer(required=True, metadata={"description": "petitions in the 7 days before those"})
    heat = fields.Float(required=True, metadata={"description": "heat index, see docs/hotspots.md"})
    representatives = fields.List(fields.Nested(RepresentativeSchema), required=True)


class HotspotReportSchema(Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    topics = fields.List(fields.Nested(TopicSchema), required=True, metadata={"description": "hottest first"})
