"""Process definitions and instances, for process designers and operators."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from engine import InstanceStatus, TaskStatus

from ..docs import MAX_ID
from ..pagination import page_schema

DEFINITION_SUFFIXES = (".bpmn", ".dmn")
MAX_NAME = 255


def _plain_definition_name(name: str) -> bool:
    return name.endswith(DEFINITION_SUFFIXES) and len(name) <= MAX_NAME and "/" not in name and "\\" not in name


def _definition_file_names(files: list) -> None:
    """Names become part of URLs (`.../files/<name>`): plain file names with a known suffix only."""
    bad = [f.filename or "" for f in files if not _plain_definition_name(f.filename or "")]
    if bad:
        raise ValidationError(f"only .bpmn and .dmn files, without folders, names up to {MAX_NAME} characters: "
                              f"{', '.join(repr(name[:80]) for name in bad)}")


class DefinitionUploadSchema(Schema):
    files = fields.List(Upload(), required=True, validate=[validate.Length(min=1), _definition_file_names],
                        metadata={"description": "one or more .bpmn/.dmn files (repeat the field)"})


class DeployedVersionSchema(Schema):
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false when this content was deployed already"})


class ProcessVersionSchema(Schema):
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    content_hash = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(allow_none=True)
    files = fields.List(fields.String(), required=True, metadata={"description": "the files this version is built from"})


VersionPageSchema = page_schema(ProcessVersionSchema, "ProcessVersionPage")


class StartInstanceSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "the instance's start data"})
    version = fields.Integer(validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "default: the latest"})
    business_key = fields.String(validate=validate.Length(max=255))


class RetryInstanceSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "corrections merged into the data of the step run again"})


class InstanceTaskSchema(Schema):
    id = fields.String(required=True)
    task_spec = fields.String(required=True)
    title = fields.String(required=True)
    lane = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    status = fields.Enum(TaskStatus, by_value=True, required=True)
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)


class WaitingTimerSchema(Schema):
    id = fields.Integer(required=True)
    task_id = fields.String(required=True)
    task_spec = fields.String(required=True)
    name = fields.String(allow_none=True)
    due_at = fields.DateTime(required=True, metadata={"description": "when the BPMN timer falls due (UTC)"})
    run_at = fields.DateTime(required=True, metadata={"description": "next attempt; later than due_at after failures"})
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)


class MessageWaitSchema(Schema):
    task_id = fields.String(required=True)
    message_name = fields.String(required=True)
    business_key = fields.String(allow_none=True)


class IncidentSchema(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True, metadata={"description": "the step that failed: start, complete, timer…"})
    task_spec = fields.String(allow_none=True)
    message = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class InstanceTokenSchema(Schema):
    task_id = fields.String(required=True)
    element_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={"enum": ["READY", "WAITING", "STARTED"]})
    kind = fields.String(required=True, metadata={"description": "the SpiffWorkflow task spec class"})
    process = fields.String(required=True, metadata={"description": "the (sub)process the element belongs to"})


class InstanceSchema(Schema):
    """An instance as `engine.inspection.InstanceDetails` describes it."""

    id = fields.Integer(required=True, attribute="instance.id")
    process_key = fields.String(required=True, attribute="instance.process_key")
    version = fields.Integer(required=True)
    business_key = fields.String(allow_none=True, attribute="instance.business_key")
    status = fields.Enum(InstanceStatus, by_value=True, required=True, attribute="instance.status")
    revision = fields.Integer(required=True, attribute="instance.revision")
    started_by = fields.String(allow_none=True, attribute="instance.started_by")
    created_at = fields.DateTime(required=True, attribute="instance.created_at")
    updated_at = fields.DateTime(required=True, attribute="instance.updated_at")
    ended_at = fields.DateTime(allow_none=True, attribute="instance.ended_at")
    tasks = fields.List(fields.Nested(InstanceTaskSchema), required=True, metadata={"description": "open user tasks"})
    timers = fields.List(fields.Nested(WaitingTimerSchema), required=True, metadata={"description": "waiting timers"})
    messages = fields.List(fields.Nested(MessageWaitSchema), required=True, metadata={"description": "message waits"})
    incidents = fields.List(fields.Nested(IncidentSchema), required=True, metadata={"description": "open incidents"})
    tokens = fields.List(fields.Nested(InstanceTokenSchema), required=True, metadata={"description": "where the tokens are"})
