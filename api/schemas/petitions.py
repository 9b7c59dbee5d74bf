"""Petitions: what citizens submit and see, and what staff list and open."""

from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields, validate

from workflows.forms import TYPES, URGENCIES, FeedbackForm, InfoForm, SubmissionForm
from workflows.statuses import PetitionStatus, PublicStatus

from ..pagination import PageArgs, page_schema

UTC_TIME = "UTC, ISO 8601"


# -- citizens -------------------------------------------------------------------------------


class PetitionSubmissionSchema(SubmissionForm):
    """A new petition; at least one of `contact_phone` and `contact_email` is required."""


class SubmittedSchema(Schema):
    tracking_no = fields.String(required=True)
    access_token = fields.String(required=True, metadata={
        "description": "shown this once: send it as X-Access-Token to follow the petition"})
    status = fields.Enum(PublicStatus, by_value=True, required=True)
    due_at = fields.DateTime(allow_none=True, metadata={"description": f"handling deadline once dispatched ({UTC_TIME})"})
    emergency = fields.Boolean(required=True, metadata={
        "description": "true: handed to the emergency services; call 110/119/120 now"})


class AccessTokenSchema(Schema):
    access_token = fields.String(required=True, data_key="X-Access-Token",
                                 metadata={"description": "the access token returned at submission"})


class TimelineEntrySchema(Schema):
    at = fields.DateTime(required=True)
    event = fields.String(required=True, metadata={"enum": [
        "received", "dispatched", "transferred", "accepted", "information_requested", "information_received",
        "replied", "reopened", "escalated", "closed", "rejected", "diverted", "merged"]})
    department = fields.String(allow_none=True, metadata={"description": "the department's name"})
    note = fields.String(allow_none=True, metadata={"description": "e.g. why it was not accepted"})


class InformationRequestSchema(Schema):
    request = fields.String(allow_none=True, metadata={"description": "what the department asks for"})
    requested_at = fields.DateTime(allow_none=True)


class PublicPetitionSchema(Schema):
    tracking_no = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Enum(PublicStatus, by_value=True, required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    reply = fields.String(allow_none=True, metadata={"description": "the department's reply, once published"})
    replied_at = fields.DateTime(allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    can_rate = fields.Boolean(required=True, metadata={"description": "the reply waits for your rating"})
    merged = fields.Boolean(required=True, metadata={
        "description": "handled together with another petition on the same matter: its status and reply are shown"})
    information_requested = fields.Nested(InformationRequestSchema, allow_none=True, metadata={
        "description": "set while the department waits for more information from you"})


class FeedbackSchema(FeedbackForm):
    """Your rating of the reply (1 = very dissatisfied … 5 = very satisfied)."""


class InformationSchema(InfoForm):
    """The information the department asked for."""


# -- staff ----------------------------------------------------------------------------------


class PetitionArgs(PageArgs):
    status = fields.Enum(PetitionStatus, by_value=True, metadata={"description": "internal status"})
    public_status = fields.Enum(PublicStatus, by_value=True)
    type = fields.String(validate=validate.OneOf(TYPES))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    department = fields.String(validate=validate.Length(min=1, max=32),
                               metadata={"description": "department code (a handler always sees only their own)"})
    overdue = fields.Boolean(metadata={"description": "past the handling deadline and not answered yet"})
    created_from = fields.AwareDateTime(default_timezone=timezone.utc, metadata={"description": "inclusive; UTC unless an offset is given"})
    created_to = fields.AwareDateTime(default_timezone=timezone.utc, metadata={"description": "exclusive"})
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "text in the title or body, or a tracking number"})


class PetitionSummarySchema(Schema):
    id = fields.Integer(required=True)
    tracking_no = fields.String(required=True)
    channel = fields.String(required=True)
    type = fields.String(required=True)
    urgency = fields.String(required=True)
    title = fields.String(required=True)
    category = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    status = fields.Enum(PetitionStatus, by_value=True, required=True)
    public_status = fields.Enum(PublicStatus, by_value=True, required=True)
    department_code = fields.String(allow_none=True)
    emergency = fields.Boolean(required=True)
    contact_name = fields.String(allow_none=True, metadata={"description": "masked in listings"})
    contact_phone = fields.String(allow_none=True, metadata={"description": "masked in listings"})
    contact_email = fields.String(allow_none=True, metadata={"description": "masked in listings"})
    sign_due_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True)


class PetitionSchema(PetitionSummarySchema):
    body = fields.String(required=True)
    instance_id = fields.Integer(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    reply = fields.String(allow_none=True, metadata={"description": "the reply (or the draft under review)"})
    rating = fields.Integer(allow_none=True)
    solved = fields.Boolean(allow_none=True)
    reopen_count = fields.Integer(required=True)
    extension_days = fields.Integer(required=True)
    extra = fields.Dict(allow_none=True)
    updated_at = fields.DateTime(required=True)
    replied_at = fields.DateTime(allow_none=True)
    merged_into_id = fields.Integer(allow_none=True, metadata={"description": "the original a merged duplicate follows"})


PetitionPageSchema = page_schema(PetitionSummarySchema, "PetitionPage")


class EventSchema(Schema):
    id = fields.Integer(required=True)
    revision = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "started, task_completed, status_changed, timer_fired, …"})
    at = fields.DateTime(required=True)
    actor = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    task_spec = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)


EventPageSchema = page_schema(EventSchema, "PetitionEventPage")
