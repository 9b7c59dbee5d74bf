"""`/api/v1/reports/quarterly`: the stored quarterly circulars (季度工作通报), listed and downloaded.

Circulars are written by the scheduler at the start of each quarter and by `minyi report
quarterly`; each run stores a new version. Evaluators, supervisors and administrators read them.
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from workflows.evaluation.periods import Quarter
from workflows.evaluation.store import reports_query, stored
from workflows.staff import Role

from ..docs import Blueprint, problems, staff_only
from ..extensions import services
from ..pagination import PageArgs, paginate
from ..schemas.quarterly import QuarterlyReportPageSchema, VersionArgs

blp = Blueprint("quarterly_reports", __name__, url_prefix="/api/v1/reports/quarterly",
                description="Reports: the quarterly circulars (季度工作通报)")
READERS = (Role.EVALUATOR, Role.SUPERVISOR, Role.ADMIN)
# The stored HTML carries its styles, charts (data: URIs) and nothing else: run no script, load nothing.
HTML_POLICY = "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; sandbox"


@blp.route("")
class QuarterlyReports(MethodView):
    @staff_only(blp, *READERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, QuarterlyReportPageSchema)
    @problems(blp, 422)
    def get(self, args: dict):
        """Stored circulars, the latest quarter and version first (their contents are downloads)."""
        with services().db.read() as session:
            return paginate(session, reports_query(), args["page"], args["page_size"])


def _download(quarter: str, version: int | None, kind: str) -> Response:
    parsed = Quarter.parse(quarter)
    with services().db.read() as session:
        report = stored(session, parsed, version)
        body, mimetype = (report.pdf, "application/pdf") if kind == "pdf" else (report.html, "text/html")
        name = f"circular-{report.quarter}-v{report.version}.{kind}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    if kind == "html":
        response.headers["Content-Security-Policy"] = HTML_POLICY
    return response


@blp.route("/<quarter>.pdf")
class QuarterlyPdf(MethodView):
    @staff_only(blp, *READERS)
    @blp.arguments(VersionArgs, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
                  description="the circular as PDF")
    @problems(blp, 404, 422)
    def get(self, args: dict, quarter: str):
        """The circular of a quarter ("2026Q3") as PDF: the latest version unless `version` is given."""
        return _download(quarter, args.get("version"), "pdf")


@blp.route("/<quarter>.html")
class QuarterlyHtml(MethodView):
    @staff_only(blp, *READERS)
    @blp.arguments(VersionArgs, location="query")
    @blp.response(200, {"type": "string"}, content_type="text/html", description="the circular as one HTML file")
    @problems(blp, 404, 422)
    def get(self, args: dict, quarter: str):
        """The circular of a quarter ("2026Q3") as HTML: the latest version unless `version` is given."""
        return _download(quarter, args.get("version"), "html")
