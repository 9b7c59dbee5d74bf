"""`/api/v1/escalations`: what supervisors review, and their acknowledgement."""

from __future__ import annotations

from flask.views import MethodView

from workflows.escalations import acknowledge, escalations_query, with_petitions
from workflows.staff import Role

from ..auth import current_staff, department_scope
from ..docs import Blueprint, ID, problems, staff_only
from ..extensions import services
from ..pagination import paginate
from ..schemas.escalations import EscalationArgs, EscalationPageSchema, EscalationSchema

blp = Blueprint("escalations", __name__, url_prefix="/api/v1/escalations", description="Escalations (supervision)")


@blp.route("")
class Escalations(MethodView):
    @staff_only(blp, Role.SUPERVISOR, Role.ADMIN, Role.HANDLER)
    @blp.arguments(EscalationArgs, location="query")
    @blp.response(200, EscalationPageSchema)
    def get(self, args):
        """Warnings, urges, supervision orders and notices, newest first (a handler: their department's)."""
        scope = department_scope()
        department = scope if scope is not None else args.get("department")
        query = escalations_query(level=args.get("level"), department=department, state=args.get("state"),
                                  petition_id=args.get("petition"))
        with services().db.read() as session:
            page = paginate(session, query, args["page"], args["page_size"])
            page["items"] = with_petitions(session, page["items"])
        return page


@blp.route(f"/<{ID}:escalation_id>/acknowledge")
class Acknowledge(MethodView):
    @staff_only(blp, Role.SUPERVISOR, Role.ADMIN)
    @blp.response(200, EscalationSchema)
    @problems(blp, 404, 409)
    def post(self, escalation_id: int):
        """Acknowledge an escalation (once: a second acknowledgement is a 409)."""
        svc = services()
        with svc.db.write() as session:
            return acknowledge(session, escalation_id, current_staff().name, svc.engine.clock())
