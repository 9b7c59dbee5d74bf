"""`/api/v1/reports/hotspots`: the hot topics of a period, for evaluators, supervisors and dispatchers."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from workflows.staff import Role
from workflows.text.hotspots import discover, local_period

from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..schemas.hotspots import HotspotArgs, HotspotReportSchema

blp = Blueprint("hotspots", __name__, url_prefix="/api/v1/reports", description="Reports: hotspot topics")
DEFAULT_DAYS = 30


@blp.route("/hotspots")
class Hotspots(MethodView):
    @staff_only(blp, Role.EVALUATOR, Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER)
    @blp.arguments(HotspotArgs, location="query")
    @blp.response(200, HotspotReportSchema)
    @problems(blp, 422)
    def get(self, args):
        """Topics many petitions of the period are about, hottest first (docs/hotspots.md: method and heat)."""
        svc = services()
        last = args.get("to") or svc.engine.clock().astimezone(svc.domain.tz).date()
        first = args.get("from_") or last - timedelta(days=DEFAULT_DAYS - 1)
        start, end = local_period(first, last, svc.domain.tz)
        with svc.db.read() as session:
            topics = discover(session, start, end, args["limit"])
        return {"from_": first, "to": last, "topics": topics}
