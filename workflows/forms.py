"""The forms user tasks name in their `form` property, as marshmallow schemas.

Completion data is validated here before it reaches the engine; a form also says which of
its fields name departments, so the caller can check those exist.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .errors import InvalidForm

TYPES = ("consultation", "help", "suggestion", "complaint", "report", "letters")
URGENCIES = ("normal", "urgent", "critical")
CHANNELS = ("web", "phone", "mail", "open311", "staff")
EMERGENCY_HINTS = ("none", "110", "119", "120")
REJECT_REASONS = ("duplicate", "not_government_business", "in_litigation", "no_content", "abusive")
NON_EMPTY = validate.Length(min=1, max=20000)


def _require(data: dict[str, Any], when: bool, *names: str) -> None:
    missing = {name: ["Required for this choice."] for name in names if when and data.get(name) in (None, "", [])}
    if missing:
        raise ValidationError(missing)


class TriageForm(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["dispatch", "reject", "overrule"]))
    department = fields.String(validate=validate.Length(min=1, max=32))
    reject_reason = fields.String(validate=validate.OneOf(REJECT_REASONS))
    note = fields.String(validate=validate.Length(max=2000))

    @validates_schema
    def _choice(self, data: dict[str, Any], **_: Any) -> None:
        _require(data, data.get("decision") == "dispatch", "department")
        _require(data, data.get("decision") == "reject", "reject_reason")


class SignForm(Schema):
    sign_decision = fields.String(required=True, validate=validate.OneOf(["sign", "return"]))
    return_reason = fields.String(validate=validate.Length(max=2000))

    @validates_schema
    def _choice(self, data: dict[str, Any], **_: Any) -> None:
        _require(data, data.get("sign_decision") == "return", "return_reason")


class HandleForm(Schema):
    action = fields.String(
        required=True, validate=validate.OneOf(["reply", "transfer", "cohandle", "extend", "request_info"])
    )
    reply = fields.String(validate=NON_EMPTY)
    transfer_to = fields.String(validate=validate.Length(min=1, max=32))
    assisting = fields.List(fields.String(validate=validate.Length(min=1, max=32)), validate=validate.Length(min=1, max=10))
    extension_days = fields.Integer(validate=validate.Range(min=1, max=60))
    extension_reason = fields.String(validate=validate.Length(max=2000))
    info_request = fields.String(validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _choice(self, data: dict[str, Any], **_: Any) -> None:
        action = data.get("action")
        _require(data, action == "reply", "reply")
        _require(data, action == "transfer", "transfer_to")
        _require(data, action == "cohandle", "assisting")
        _require(data, action == "extend", "extension_days", "extension_reason")
        _require(data, action == "request_info", "info_request")


class AssistForm(Schema):
    contribution = fields.String(required=True, validate=NON_EMPTY)


class ReviewForm(Schema):
    approved = fields.Boolean(required=True)
    review_comment = fields.String(validate=validate.Length(max=2000))


class ExtensionReviewForm(Schema):
    extension_approved = fields.Boolean(required=True)
    granted_days = fields.Integer(validate=validate.Range(min=0, max=60), load_default=0)


class InfoForm(Schema):
    information = fields.String(required=True, validate=NON_EMPTY)


class SupervisionOrderForm(Schema):
    instructions = fields.String(required=True, validate=NON_EMPTY)


class FeedbackForm(Schema):
    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    solved = fields.Boolean(required=True)
    comment = fields.String(validate=validate.Length(max=2000))


class DissatisfactionReviewForm(Schema):
    conclusion = fields.String(required=True, validate=NON_EMPTY)


class SubmissionForm(Schema):
    """What a citizen submits. A petition must leave at least one way to reach its author,
    since the reply and any request for information go back to them."""

    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(URGENCIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=255))
    body = fields.String(required=True, validate=NON_EMPTY)
    location = fields.String(allow_none=True, validate=validate.Length(max=255))
    category = fields.String(allow_none=True, validate=validate.Length(max=64))
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=64))
    contact_phone = fields.String(allow_none=True, validate=[validate.Length(min=3, max=32), validate.Regexp(r"^\+?[0-9][0-9 -]*$")])
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    emergency_hint = fields.String(load_default="none", validate=validate.OneOf(EMERGENCY_HINTS))
    channel = fields.String(load_default="web", validate=validate.OneOf(CHANNELS))

    @validates_schema
    def _reachable(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("contact_phone") or data.get("contact_email")):
            message = "Give a phone number or an e-mail address."
            raise ValidationError({"contact_phone": [message], "contact_email": [message]})


FORMS: dict[str, type[Schema]] = {
    "triage_form": TriageForm,
    "sign_form": SignForm,
    "handle_form": HandleForm,
    "assist_form": AssistForm,
    "review_form": ReviewForm,
    "extension_review_form": ExtensionReviewForm,
    "info_form": InfoForm,
    "supervision_order_form": SupervisionOrderForm,
    "feedback_form": FeedbackForm,
    "dissatisfaction_review_form": DissatisfactionReviewForm,
}

# One instance of each, shared: building a schema costs twice what loading through it does, and
# loading keeps no state on the instance.
_LOADERS: dict[str, Schema] = {name: form() for name, form in FORMS.items()}

# Fields whose values are department codes, per form.
DEPARTMENT_FIELDS: dict[str, tuple[str, ...]] = {"triage_form": ("department",), "handle_form": ("transfer_to", "assisting")}


def validate_form(form: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """Load `data` through the named form. Raises InvalidForm with field errors.

    A task without a form (a designer's experiment) passes its data through unchanged.
    """
    if form is None:
        return dict(data)
    schema = _LOADERS.get(form)
    if schema is None:
        raise InvalidForm(form, {"_form": [f"unknown form {form!r}"]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidForm(form, exc.normalized_messages()) from None
