"""`/api/v1/routing-rules`: which department a category of petition is suggested to go to."""

from __future__ import annotations

from flask.views import MethodView

from workflows.departments import (
    delete_routing_rule,
    routing_rules_query,
    set_routing_rule,
)
from workflows.staff import Role

from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..pagination import PageArgs, paginate
from ..schemas.routing import (
    RoutingRulePageSchema,
    RoutingRuleSchema,
    RoutingTargetSchema,
)

blp = Blueprint("routing", __name__, url_prefix="/api/v1/routing-rules", description="Routing rules (administrators)")


@blp.route("")
class RoutingRules(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, RoutingRulePageSchema)
    def get(self, args):
        """Every routing rule, by category."""
        with services().db.read() as session:
            return paginate(session, routing_rules_query(), args["page"], args["page_size"])


@blp.route("/<category>")
class RoutingRule(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(RoutingTargetSchema)
    @blp.response(200, RoutingRuleSchema)
    @problems(blp, 422)
    def put(self, target, category: str):
        """Route a category to a department (replaces the earlier rule for it)."""
        with services().db.write() as session:
            return set_routing_rule(session, category, target["department"])

    @staff_only(blp, Role.ADMIN)
    @blp.response(204)
    @problems(blp, 404)
    def delete(self, category: str):
        """Remove the rule for a category: its petitions get no suggestion."""
        with services().db.write() as session:
            delete_routing_rule(session, category)
