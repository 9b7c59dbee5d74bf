"""`/api/v1/reports/departments`: department KPIs of a period (JSON, CSV or XLSX), and one
department with the petitions behind its figures.

Evaluators, supervisors, dispatchers and administrators read every department; a handler
reads its own department (and the city row to compare with); another department is 404.
Designers work on processes, not on petitions: they have no access.
"""

from __future__ import annotations

from datetime import date

from flask import Response, current_app
from flask.views import MethodView

from workflows.departments import DepartmentNotFound
from workflows.errors import InvalidForm
from workflows.evaluation import KpiTable, department_kpis, department_table
from workflows.evaluation.details import behind_figures
from workflows.evaluation.exports import to_csv, to_xlsx
from workflows.evaluation.periods import quarter_to_date
from workflows.staff import Role

from ..auth import department_scope, ensure_in_scope
from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..schemas.evaluation import DepartmentDetailArgs, DepartmentReportSchema, DepartmentTableArgs, KpiTableSchema

blp = Blueprint("department_reports", __name__, url_prefix="/api/v1/reports",
                description="Reports: department KPIs (definitions in docs/evaluation.md)")
READERS = (Role.EVALUATOR, Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN, Role.HANDLER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {"csv": ("text/csv; charset=utf-8", to_csv), "xlsx": (XLSX, to_xlsx)}
DOWNLOAD_DOC = {"responses": {200: {"content": {
    "text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}}}}


def period(args: dict) -> tuple[date, date]:
    """The period asked for; by default this quarter to today (local time). Raises InvalidForm
    for a `from` after the default `to` (the schema checks two given days)."""
    svc = services()
    last = args.get("to") or svc.engine.clock().astimezone(svc.domain.tz).date()
    first = args.get("from_") or quarter_to_date(last)[0]
    if first > last:
        raise InvalidForm("period", {"from": [f"must not be after `to` ({last})"]})
    return first, last


def min_sample() -> int:
    return int(current_app.config["KPI_MIN_SAMPLE"])


def download(table: KpiTable, kind: str) -> Response:
    mimetype, render = DOWNLOADS[kind]
    name = f"department-kpis-{table.start:%Y%m%d}-{table.end:%Y%m%d}.{kind}"
    return Response(render(table), mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/departments")
class DepartmentTable(MethodView):
    @staff_only(blp, *READERS)
    @blp.arguments(DepartmentTableArgs, location="query")
    @blp.response(200, KpiTableSchema)
    @blp.doc(**DOWNLOAD_DOC)
    @problems(blp, 422)
    def get(self, args):
        """Every department's KPIs for the petitions received in the period, and the city row
        (a handler: its own department and the city). `format=csv|xlsx` downloads the same table."""
        first, last = period(args)
        with services().db.read() as session:
            table = department_table(session, first, last, min_sample=min_sample(), now=services().engine.clock())
        scope = department_scope()
        if scope is not None:
            table = KpiTable(table.start, table.end, table.min_sample,
                             [row for row in table.departments if row.department_code == scope], table.city)
        return table if args["format"] == "json" else download(table, args["format"])


@blp.route("/departments/<code>")
class DepartmentReport(MethodView):
    @staff_only(blp, *READERS)
    @blp.arguments(DepartmentDetailArgs, location="query")
    @blp.response(200, DepartmentReportSchema)
    @problems(blp, 404, 422)
    def get(self, args, code: str):
        """One department's KPIs for the period, with the petitions counted against each figure
        (late, returned, reopened, rated low...: up to `limit` each, and their total)."""
        ensure_in_scope(code, lambda: DepartmentNotFound(code))
        first, last = period(args)
        with services().db.read() as session:
            now = services().engine.clock()
            kpis = department_kpis(session, code, first, last, min_sample=min_sample(), now=now)
            petitions = behind_figures(session, code, first, last, limit=args["limit"], now=now)
        return {"start": first, "end": last, "min_sample": min_sample(), "kpis": kpis, "petitions": petitions}
