"""Stored quarterly circulars."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..pagination import page_schema


class VersionArgs(Schema):
    version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "a stored version; default: the latest"})


class QuarterlyReportSchema(Schema):
    quarter = fields.String(required=True, metadata={"example": "2026Q3"})
    version = fields.Integer(required=True, metadata={"description": "1 for the first circular of the quarter, "
                                                                     "then one more each time it is generated again"})
    generated_at = fields.DateTime(required=True)
    generated_by = fields.String(required=True, metadata={"description": "scheduler, cli, or a staff name"})
    generator = fields.String(required=True, metadata={"description": "software and template version"})
    pdf_pages = fields.Integer(required=True)
    pdf_bytes = fields.Integer(required=True)
    pdf_url = fields.Method("_pdf", required=True)
    html_url = fields.Method("_html", required=True)

    def _pdf(self, report) -> str:
        return f"/api/v1/reports/quarterly/{report.quarter}.pdf?version={report.version}"

    def _html(self, report) -> str:
        return f"/api/v1/reports/quarterly/{report.quarter}.html?version={report.version}"


QuarterlyReportPageSchema = page_schema(QuarterlyReportSchema, "QuarterlyReportPage")
