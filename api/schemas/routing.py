"""Routing rules: which department a category of petition is suggested to go to."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..pagination import page_schema
from .departments import CODE


class RoutingRuleSchema(Schema):
    category = fields.String(required=True)
    department_code = fields.String(required=True)


class RoutingTargetSchema(Schema):
    department = fields.String(required=True, validate=CODE, metadata={"description": "an active department's code"})


RoutingRulePageSchema = page_schema(RoutingRuleSchema, "RoutingRulePage")
