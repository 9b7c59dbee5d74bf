"""Departments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..pagination import PageArgs, page_schema

CODE = validate.Length(min=1, max=32)
NAME = validate.Length(min=1, max=255)


class DepartmentSchema(Schema):
    code = fields.String(required=True, validate=[CODE, validate.Regexp(r"^[A-Za-z0-9_.-]+$")])
    name = fields.String(required=True, validate=NAME)
    parent_code = fields.String(load_default=None, allow_none=True, validate=CODE)
    active = fields.Boolean(load_default=True)


class DepartmentChangeSchema(Schema):
    name = fields.String(validate=NAME)
    parent_code = fields.String(allow_none=True, validate=CODE, metadata={"description": "null makes it top-level"})
    active = fields.Boolean(metadata={"description": "inactive departments keep their history"})


class DepartmentArgs(PageArgs):
    active = fields.Boolean()


DepartmentPageSchema = page_schema(DepartmentSchema, "DepartmentPage")
