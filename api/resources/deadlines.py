"""`/api/v1/deadlines`: the deadline rules in force, read from the deployed decision table."""

from __future__ import annotations

from flask.views import MethodView

from workflows.deadlines import deadline_rules
from workflows.staff import Role

from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..schemas.deadlines import DeadlineRulesSchema

blp = Blueprint("deadlines", __name__, url_prefix="/api/v1/deadlines", description="Deadline rules (administrators)")


@blp.route("")
class Deadlines(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.response(200, DeadlineRulesSchema)
    @problems(blp, 404)
    def get(self):
        """Sign-for and handling limits by petition type and urgency, as the deployed `deadlines.dmn` says."""
        svc = services()
        with svc.db.read() as session:
            return deadline_rules(session, svc.engine)
