"""`/api/v1/calendar`: the holiday calendar deadlines are counted in (administrators only).

Every change is followed by `calendar.invalidate()`, so that deadlines this process computes
next use it; other processes pick it up when their cached copy expires.
"""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_smorest import abort

from workflows.calendar import days_of_year, remove_day, seed_from_library, set_day
from workflows.staff import Role

from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..schemas.calendar import (
    CalendarArgs,
    CalendarDaySchema,
    CalendarImportSchema,
    CalendarYearSchema,
    DayChangeSchema,
    ImportedYearSchema,
)

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar", description="Holiday calendar (administrators)")


def parse_day(day: str) -> date:
    try:
        return date.fromisoformat(day)
    except ValueError:
        abort(422, message=f"{day!r} is not a date (YYYY-MM-DD)", messages={"path": {"day": ["not a YYYY-MM-DD date"]}})


@blp.route("")
class Calendar(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(CalendarArgs, location="query")
    @blp.response(200, CalendarYearSchema)
    def get(self, args):
        """The days of a year that differ from the weekday rule, with where each comes from."""
        svc = services()
        year = args.get("year") or svc.engine.clock().astimezone(svc.domain.tz).year
        with svc.db.read() as session:
            days, known = days_of_year(session, year)
        return {"year": year, "covered": known is not None, "official": bool(known and known.official), "days": days}


@blp.route("/<day>")
class CalendarDay(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(DayChangeSchema)
    @blp.response(200, CalendarDaySchema)
    @problems(blp, 422)
    def put(self, change, day: str):
        """Make a day a holiday or a working day; this wins over the library's data for it."""
        svc = services()
        with svc.db.write() as session:
            row = set_day(session, parse_day(day), change["is_workday"], change["name"], svc.engine.clock())
        svc.domain.calendar.invalidate()
        return row

    @staff_only(blp, Role.ADMIN)
    @blp.response(204)
    @problems(blp, 404, 422)
    def delete(self, day: str):
        """Undo an administrator's decision about a day (the library's entry, if any, applies again)."""
        svc = services()
        with svc.db.write() as session:
            removed = remove_day(session, parse_day(day))
        if not removed:
            abort(404, message=f"no administrator's decision about {day}")
        svc.domain.calendar.invalidate()


@blp.route("/import")
class CalendarImport(MethodView):
    @staff_only(blp, Role.ADMIN)
    @blp.arguments(CalendarImportSchema)
    @blp.response(200, ImportedYearSchema(many=True))
    @problems(blp, 422)
    def post(self, request):
        """Load holidays and make-up working days from the holidays library; days set by an administrator stay."""
        svc = services()
        with svc.db.write() as session:
            seeded = seed_from_library(session, sorted(set(request["years"])), svc.engine.clock())
        svc.domain.calendar.invalidate()
        return [{"year": year, "official": official} for year, official in seeded.items()]
