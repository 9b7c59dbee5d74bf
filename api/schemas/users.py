"""Staff accounts. The API token appears in exactly one response: the one creating it."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows.staff import Role

from ..pagination import PageArgs, page_schema

NAME = validate.Length(min=1, max=64)
CODE = validate.Length(min=1, max=32)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    department_code = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class NewUserSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    role = fields.Enum(Role, by_value=True, required=True)
    department = fields.String(load_default=None, allow_none=True, validate=CODE,
                               metadata={"description": "department code; required for handlers"})


class CreatedUserSchema(Schema):
    """The new account and its API token (`workflows.staff.NewStaff`)."""

    user = fields.Nested(UserSchema, required=True, attribute="staff")
    token = fields.String(required=True, metadata={"description": "the API token: shown this once, stored hashed"})


class UserChangeSchema(Schema):
    role = fields.Enum(Role, by_value=True)
    department = fields.String(allow_none=True, validate=CODE, metadata={"description": "null removes it"})
    active = fields.Boolean(metadata={"description": "false revokes the account's token at once"})


class UserArgs(PageArgs):
    role = fields.Enum(Role, by_value=True)
    department = fields.String(validate=CODE)
    active = fields.Boolean()


UserPageSchema = page_schema(UserSchema, "UserPage")
