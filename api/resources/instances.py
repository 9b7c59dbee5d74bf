"""`/api/v1/instances`: what a process instance is doing, and retrying one that failed."""

from __future__ import annotations

from flask.views import MethodView

from engine.inspection import inspect_instance
from workflows.staff import Role

from ..auth import current_staff
from ..docs import Blueprint, ID, problems, staff_only
from ..extensions import services
from ..schemas.processes import InstanceSchema, RetryInstanceSchema

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances", description="Process instances (operators)")


@blp.route(f"/<{ID}:instance_id>")
class Instance(MethodView):
    @staff_only(blp, Role.DESIGNER, Role.ADMIN, Role.SUPERVISOR)
    @blp.response(200, InstanceSchema)
    @problems(blp, 404)
    def get(self, instance_id: int):
        """Status, revision, open tasks, waiting timers and messages, open incidents, and where the tokens are."""
        svc = services()
        with svc.db.read() as session:
            return inspect_instance(session, svc.engine, instance_id)


@blp.route(f"/<{ID}:instance_id>/retry")
class Retry(MethodView):
    @staff_only(blp, Role.DESIGNER, Role.ADMIN)
    @blp.arguments(RetryInstanceSchema, required=False)
    @blp.response(200, InstanceSchema)
    @problems(blp, 404, 409, 422)
    def post(self, retry, instance_id: int):
        """Run the failed step of an instance in `error` again, with optional data corrections.

        409 when the instance is not in error. If the step fails again, a new incident is opened.
        """
        svc = services()
        with svc.db.write() as session:
            svc.engine.retry(session, instance_id, current_staff().name, retry.get("data") or None)
        with svc.db.read() as session:
            return inspect_instance(session, svc.engine, instance_id)
