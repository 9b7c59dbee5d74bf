"""`/api/v1/reports/panel`: the third-party panel reads samples of replies and scores departments.

Evaluators score; supervisors and administrators follow the scores. An evaluator lists only
their own score sets, so that each judges independently.
"""

from __future__ import annotations

from flask.views import MethodView

from engine.db import utcnow
from workflows.evaluation.panel import CRITERIA, Scores, averages, sample, score_sets, submit_scores
from workflows.evaluation.periods import HalfYear
from workflows.staff import Role

from ..auth import current_staff
from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..schemas.panel import PanelScoresSchema, SampleArgs, SampleSchema, ScoresInSchema, ScoreSetSchema

blp = Blueprint("panel", __name__, url_prefix="/api/v1/reports/panel",
                description="Reports: the third-party panel's reply samples and scores (第三方评议)")
FOLLOWERS = (Role.EVALUATOR, Role.SUPERVISOR, Role.ADMIN)


@blp.route("/<period>/sample")
class Sample(MethodView):
    @staff_only(blp, *FOLLOWERS)
    @blp.arguments(SampleArgs, location="query")
    @blp.response(200, SampleSchema)
    @problems(blp, 404, 422)
    def get(self, args: dict, period: str):
        """Replies of a department in a half-year ("2026H2") drawn at random for the panel to read.

        The draw uses a seed stored for the half-year: the same request returns the same
        petitions. Contact details are masked, in the text too.
        """
        half = HalfYear.parse(period)
        svc = services()
        with svc.db.write() as session:  # the first draw of a half-year stores its seed
            items = sample(session, half, args["department"], args["size"], utcnow(), svc.domain.tz)
        return {"period": str(half), "department": args["department"], "items": items}


@blp.route("/<period>/scores/<department>")
class DepartmentScores(MethodView):
    @staff_only(blp, Role.EVALUATOR)
    @blp.arguments(ScoresInSchema)
    @blp.response(200, ScoreSetSchema)
    @problems(blp, 404, 422)
    def put(self, scores: dict, period: str, department: str):
        """Your scores of a department for a half-year; sending them again updates them.

        Scale: topic_quality (主题质量) 0–30, organisation (组织情况) 0–30, reply_quality
        (答复情况) 0–40, 100 in all.
        """
        half = HalfYear.parse(period)
        svc = services()
        with svc.db.write() as session:
            return submit_scores(session, half, department, current_staff(), Scores(**scores), utcnow(), svc.domain.tz)


@blp.route("/<period>/scores")
class PeriodScores(MethodView):
    @staff_only(blp, *FOLLOWERS)
    @blp.response(200, PanelScoresSchema)
    @problems(blp, 422)
    def get(self, period: str):
        """The half-year's score sets and each department's average (an evaluator: their own only)."""
        half = HalfYear.parse(period)
        staff = current_staff()
        with services().db.read() as session:
            sets = score_sets(session, half, staff if staff.role is Role.EVALUATOR else None)
        return {"period": str(half), "criteria": CRITERIA, "items": sets, "averages": averages(sets)}
