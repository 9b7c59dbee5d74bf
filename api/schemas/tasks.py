"""Tasks: the inbox, one task with the JSON Schema of its form, and the actions on it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, missing, validate

from engine import InstanceStatus, TaskStatus
from workflows.statuses import PetitionStatus

from ..pagination import PageArgs, page_schema
from .duplicates import DuplicateSchema

# -- the form's JSON Schema -----------------------------------------------------------------

JSON_TYPES: list[tuple[type[fields.Field], dict[str, Any]]] = [  # most specific first
    (fields.Email, {"type": "string", "format": "email"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.String, {"type": "string"}),
    (fields.Boolean, {"type": "boolean"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Number, {"type": "number"}),
    (fields.Dict, {"type": "object"}),
]


def _validator_keywords(validator: Any, is_array: bool) -> dict[str, Any]:
    if isinstance(validator, validate.OneOf):
        return {"enum": list(validator.choices)}
    if isinstance(validator, validate.Range):
        bounds: dict[str, Any] = {}
        if validator.min is not None:
            bounds["minimum" if validator.min_inclusive else "exclusiveMinimum"] = validator.min
        if validator.max is not None:
            bounds["maximum" if validator.max_inclusive else "exclusiveMaximum"] = validator.max
        return bounds
    if isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if is_array else ("minLength", "maxLength")
        if validator.equal is not None:
            return {low: validator.equal, high: validator.equal}
        return {k: v for k, v in ((low, validator.min), (high, validator.max)) if v is not None}
    if isinstance(validator, validate.Regexp):
        return {"pattern": validator.regex.pattern}
    return {}  # a validator JSON Schema cannot say: the server still checks it


def field_json_schema(field: fields.Field) -> dict[str, Any]:
    """JSON Schema of one marshmallow field (the types and validators the forms use)."""
    if isinstance(field, fields.List):
        schema: dict[str, Any] = {"type": "array", "items": field_json_schema(field.inner)}
    else:
        schema = next((dict(json) for kind, json in JSON_TYPES if isinstance(field, kind)), {})
    for validator in field.validators:
        schema.update(_validator_keywords(validator, isinstance(field, fields.List)))
    default = field.load_default
    if default is not missing and default is not None and not callable(default):
        schema["default"] = default
    if field.metadata.get("description"):
        schema["description"] = field.metadata["description"]
    return schema


@lru_cache(maxsize=None)
def form_json_schema(form: type[Schema] | None, name: str | None = None) -> dict[str, Any] | None:
    """A JSON Schema (draft 2020-12) of a form, for clients that render or pre-check it
    (built once per form: forms are classes, fixed for the life of the process).

    Rules across fields (e.g. `reply` required when `action` is `reply`) are the form's own
    checks: they are named in its description and enforced when the task is completed.
    """
    if form is None:
        return None
    declared = form().fields
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name or form.__name__,
        "type": "object",
        "properties": {f.data_key or key: field_json_schema(f) for key, f in declared.items() if not f.dump_only},
        "required": sorted(f.data_key or key for key, f in declared.items() if f.required),
        "additionalProperties": False,
    }
    if form.__doc__:
        schema["description"] = " ".join(form.__doc__.split())
    return schema


# -- requests -------------------------------------------------------------------------------


class TaskArgs(PageArgs):
    mine = fields.Boolean(load_default=False, metadata={"description": "only tasks assigned to or claimed by me"})
    lane = fields.String(validate=validate.Length(min=1, max=255),
                         metadata={"description": "default: my role's lane and what is assigned to me"})
    department = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.Enum(TaskStatus, by_value=True, validate=validate.OneOf([TaskStatus.OPEN, TaskStatus.CLAIMED]))
    overdue = fields.Boolean(metadata={"description": "past the task's due time"})
    process = fields.String(validate=validate.Length(min=1, max=255), metadata={"description": "process key"})


class AssignSchema(Schema):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "the name of a staff account that works in the task's lane"})


class FormDataSchema(Schema):
    """The task's form data: its fields are in the task's `form_schema`."""

    class Meta:
        unknown = INCLUDE


class Revision(fields.Field):
    """An instance revision sent as an entity tag: `7`, `"7"` or `W/"7"`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip().removeprefix("W/").strip('"')
        if not text.isdigit():
            raise ValidationError("send the task's revision, e.g. If-Match: \"7\"")
        return int(text)


class IfMatchSchema(Schema):
    expected_revision = Revision(data_key="If-Match", metadata={
        "description": "the `revision` read with the task: completing fails with 409 if the process moved on since",
        "type": "string"})


# -- responses ------------------------------------------------------------------------------


class PetitionBriefSchema(Schema):
    id = fields.Integer(required=True)
    tracking_no = fields.String(required=True)
    title = fields.String(required=True)
    type = fields.String(required=True)
    urgency = fields.String(required=True)
    status = fields.Enum(PetitionStatus, by_value=True, required=True)
    department_code = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True, metadata={"description": "the petition's handling deadline"})


class TaskSchema(Schema):
    """An inbox entry: read from a task and its petition."""

    id = fields.String(required=True, attribute="task.id")
    title = fields.String(required=True, attribute="task.title")
    task_spec = fields.String(required=True, attribute="task.task_spec")
    process_key = fields.String(required=True, attribute="task.process_key")
    instance_id = fields.Integer(required=True, attribute="task.instance_id")
    lane = fields.String(allow_none=True, attribute="task.lane")
    department = fields.String(allow_none=True, attribute="task.department")
    assignee = fields.String(allow_none=True, attribute="task.assignee")
    claimed_by = fields.String(allow_none=True, attribute="task.claimed_by")
    status = fields.Enum(TaskStatus, by_value=True, required=True, attribute="task.status")
    form = fields.String(allow_none=True, attribute="task.form")
    due_at = fields.DateTime(allow_none=True, attribute="task.due_at")
    created_at = fields.DateTime(required=True, attribute="task.created_at")
    petition = fields.Nested(PetitionBriefSchema, allow_none=True, metadata={"description": "null outside petitions"})


TaskPageSchema = page_schema(TaskSchema, "TaskPage")


class CandidateSchema(Schema):
    category = fields.String(required=True)
    department = fields.String(allow_none=True, metadata={"description": "where the routing rules send the category"})
    confidence = fields.Float(required=True, metadata={"description": "the classifier's probability, 0 to 1"})


class SuggestionSchema(Schema):
    """What the text classifier read in the petition when it reached triage."""

    model_version = fields.Integer(required=True)
    threshold = fields.Float(required=True, metadata={"description": "the least confidence that makes a suggestion"})
    suggested = fields.Nested(CandidateSchema, allow_none=True, metadata={"description": "null below the threshold"})
    alternatives = fields.List(fields.Nested(CandidateSchema), required=True, metadata={
        "description": "the next most likely categories (the most likely when nothing is suggested)"})


class TaskDetailSchema(TaskSchema):
    claimed_at = fields.DateTime(allow_none=True, attribute="task.claimed_at")
    completed_at = fields.DateTime(allow_none=True, attribute="task.completed_at")
    completed_by = fields.String(allow_none=True, attribute="task.completed_by")
    revision = fields.Integer(required=True, metadata={"description": "the instance's revision: send it as If-Match"})
    form_schema = fields.Dict(allow_none=True, metadata={"description": "JSON Schema of the form to complete it with"})
    duplicates = fields.List(fields.Nested(DuplicateSchema), metadata={
        "description": "triage: open petitions near-duplicate of this one (merge with POST /petitions/{id}/merge)"})
    suggestion = fields.Nested(SuggestionSchema, allow_none=True, metadata={
        "description": "triage tasks: the suggested category and department; null without a trained model"})


class CompletedSchema(Schema):
    instance_id = fields.Integer(required=True)
    status = fields.Enum(InstanceStatus, by_value=True, required=True, metadata={"description": "the instance's"})
    revision = fields.Integer(required=True)
    petition_status = fields.Enum(PetitionStatus, by_value=True, allow_none=True)
    next_tasks = fields.List(fields.Nested(TaskSchema), required=True,
                             metadata={"description": "the instance's pending tasks that you may see"})
