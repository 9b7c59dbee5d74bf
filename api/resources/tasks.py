"""`/api/v1/tasks`: the staff inbox, one task with its form, and claiming, assigning and
completing tasks.

Who sees and works on which task is `workflows.access`: a task outside the caller's lanes or
department is a 404 (existence does not leak); one the caller may see but not work on (a
supervisor looking at a handler's task) is a 403.
"""

from __future__ import annotations

from typing import NoReturn

from flask import abort
from flask.views import MethodView
from sqlalchemy.orm import Session

from engine import TaskChange
from engine.db import utcnow
from workflows.access import check_assignee, may_act, may_release
from workflows.forms import FORMS
from workflows.models import Petition
from workflows.inbox import InboxFilter, inbox_page
from workflows.queries import TaskEntry, pending_entries, visible_task
from workflows.staff import Role

from ..auth import current_staff
from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..schemas.tasks import (
    AssignSchema,
    CompletedSchema,
    FormDataSchema,
    IfMatchSchema,
    TaskArgs,
    TaskDetailSchema,
    TaskPageSchema,
    form_json_schema,
)
from .duplicates import triage_duplicates

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks: the staff inbox and its actions")
WORKERS = (Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)


def _workable(session: Session, task_id: str) -> TaskEntry:
    """The task, if the caller may work on it: 404 when they may not see it, 403 when they
    may see but not work on it."""
    entry = visible_task(session, current_staff(), task_id)
    if not may_act(current_staff(), entry.task):
        _refuse(entry)
    return entry


def _refuse(entry: TaskEntry) -> NoReturn:
    task = entry.task
    where = f" of {task.department}" if task.department else ""
    abort(403, description=f"a {current_staff().role.value} does not work on {task.lane or 'unlaned'} tasks{where}")


def _detail(session: Session, entry: TaskEntry, change: TaskChange | None = None) -> dict:
    """A task's detail, with the task as `change` left it when given."""
    if change is None:
        change = TaskChange(entry.task, services().engine.revision_of(session, entry.task.instance_id))
    return _with_change(_shown(session, entry), change)


def _shown(session: Session, entry: TaskEntry) -> dict:
    """What a task's detail shows besides the task and its instance's revision: none of it
    changes when the task is claimed."""
    return {"petition": entry.petition,
            "form_schema": form_json_schema(FORMS.get(entry.task.form or ""), entry.task.form),
            "duplicates": triage_duplicates(session, entry),
            "suggestion": services().domain.suggestions.for_task(session, entry.task, entry.petition)}


def _with_change(shown: dict, change: TaskChange) -> dict:
    """A task's detail: what `_shown` gave, with the task and revision (sent back as If-Match)
    as `change` left them."""
    return {"task": change.task, "revision": change.revision, **shown}


@blp.route("")
class Inbox(MethodView):
    @staff_only(blp, *WORKERS)
    @blp.arguments(TaskArgs, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args: dict):
        """Pending tasks I may work on, overdue first, then by due time (then oldest first).

        The total is exact up to 1,000; past that it is 1,000 with `total_exact` false.
        """
        filters = InboxFilter(mine=args["mine"], lane=args.get("lane"), department=args.get("department"),
                              status=args.get("status"), overdue=args.get("overdue"), process=args.get("process"))
        with services().db.read() as session:
            return inbox_page(session, current_staff(), filters, utcnow(), args["page"], args["page_size"])


@blp.route("/<task_id>")
class Task(MethodView):
    @staff_only(blp, *WORKERS)
    @blp.response(200, TaskDetailSchema)
    @problems(blp, 404)
    def get(self, task_id: str):
        """A task with its petition and the JSON Schema of the form that completes it."""
        with services().db.read() as session:
            return _detail(session, visible_task(session, current_staff(), task_id))


@blp.route("/<task_id>/claim")
class Claim(MethodView):
    @staff_only(blp, *WORKERS)
    @blp.response(200, TaskDetailSchema)
    @problems(blp, 404, 409)
    def post(self, task_id: str):
        """Take a task so nobody else completes it meanwhile (409 when someone else has it)."""
        # Checked and read before the write transaction, which then holds only the claim: who
        # may work on a task depends on its lane and department, which never change, and the
        # claim itself is a compare-and-set on the task's status. A claim already lost as read
        # is answered without waiting for the writer.
        svc = services()
        with svc.db.read() as session:
            entry = _workable(session, task_id)
            svc.engine.refuse_lost_claim(entry.task, current_staff().name)
            shown = _shown(session, entry)
        with svc.db.write() as session:
            return _with_change(shown, svc.engine.claim(session, task_id, current_staff().name))


@blp.route("/<task_id>/unclaim")
class Unclaim(MethodView):
    @staff_only(blp, *WORKERS)
    @blp.response(200, TaskDetailSchema)
    @problems(blp, 404, 409)
    def post(self, task_id: str):
        """Put a claimed task back in the pool: one's own claim, or anyone's for a supervisor."""
        svc, staff = services(), current_staff()
        with svc.db.write() as session:
            entry = visible_task(session, staff, task_id)
            force = may_release(staff, entry.task)
            if not force and not may_act(staff, entry.task):
                _refuse(entry)
            return _detail(session, entry, svc.engine.unclaim(session, task_id, staff.name, force=force))


@blp.route("/<task_id>/assign")
class Assign(MethodView):
    @staff_only(blp, Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(AssignSchema)
    @blp.response(200, TaskDetailSchema)
    @problems(blp, 404, 409, 422)
    def post(self, assignment: dict, task_id: str):
        """Give a pending task to a staff member who works in its lane (and department)."""
        svc = services()
        with svc.db.write() as session:
            entry = visible_task(session, current_staff(), task_id)
            assignee = check_assignee(session, entry.task, assignment["assignee"])
            return _detail(session, entry, svc.engine.assign(session, task_id, assignee.name, current_staff().name))


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @staff_only(blp, *WORKERS)
    @blp.arguments(IfMatchSchema, location="headers")
    @blp.arguments(FormDataSchema)
    @blp.response(200, CompletedSchema)
    @problems(blp, 404, 409, 422)
    def post(self, headers: dict, data: dict, task_id: str):
        """Complete a task with its form's data (422 with field errors when they do not fit).

        409 when it was completed already, is claimed by someone else, or (with If-Match) the
        process moved on since the revision given.
        """
        svc, staff = services(), current_staff()
        petitions = svc.domain.petitions
        entry, prepared = None, None
        if svc.db.is_sqlite:
            # Access is checked and the step run before the write transaction, which then only
            # saves it unless the process moved on meanwhile (Engine.prepare_completion), so
            # SQLite's one writer is held the shorter. Who may work on a task never changes.
            with svc.db.read() as session:
                entry = _workable(session, task_id)
                prepared = petitions.prepare_completion(session, task_id, data, staff.name)
        with svc.db.write() as session:
            entry = entry or _workable(session, task_id)
            instance = petitions.complete_task(session, task_id, data, staff.name, prepared=prepared,
                                               expected_revision=headers.get("expected_revision"))
            petition = session.get(Petition, entry.petition.id) if entry.petition else None
            result = {"instance_id": instance.id, "status": instance.status, "revision": instance.revision,
                      "petition_status": petition.status if petition else None}
        with svc.db.read() as session:
            result["next_tasks"] = pending_entries(session, staff, result["instance_id"])
        return result
