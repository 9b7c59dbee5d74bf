"""`GET /api/v1/health`: database, scheduler heartbeat, calendar coverage, incidents."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.db import utcnow
from engine.workers import read_health
from workflows.calendar import coverage

from ..docs import Blueprint
from ..extensions import scheduler_settings, services

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class CalendarCoverageSchema(Schema):
    missing = fields.List(fields.Integer(), metadata={"description": "years in the next 90 days with no holiday data"})
    provisional = fields.List(fields.Integer(), metadata={"description": "years without the official schedule yet"})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok, degraded or unavailable"})
    database = fields.Boolean(required=True)
    workers_alive = fields.Integer()
    oldest_overdue_timer_seconds = fields.Float(allow_none=True)
    open_incidents = fields.Integer()
    calendar = fields.Nested(CalendarCoverageSchema)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="the database cannot be reached")
    def get(self):
        """Health of the service, for load balancers and operators (no token needed)."""
        svc = services()
        now = utcnow()
        try:
            with svc.db.read() as session:
                session.execute(text("SELECT 1"))
                health = read_health(session, now, scheduler_settings(current_app).alive_within)
        except SQLAlchemyError:
            return {"status": "unavailable", "database": False}, 503
        gaps = coverage(svc.domain.calendar.get(), now.astimezone(svc.domain.tz).date())
        overdue = health.oldest_overdue_timer
        scheduler_expected = current_app.config["SCHEDULER_ENABLED"] or bool(health.workers)
        degraded = bool(gaps["missing"]) or (scheduler_expected and not health.workers and overdue is not None)
        return {
            "status": "degraded" if degraded else "ok",
            "database": True,
            "workers_alive": len(health.workers),
            "oldest_overdue_timer_seconds": overdue.lag_seconds if overdue else None,
            "open_incidents": health.open_incidents,
            "calendar": gaps,
        }
