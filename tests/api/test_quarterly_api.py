"""`/api/v1/reports/quarterly`: stored circulars listed and downloaded through the real app.

The stored rows carry a real circular (the session's `circular` fixture, made by the
quarterly job); a second version of the quarter is stored as re-generating would.
"""

from __future__ import annotations


import pytest
from sqlalchemy import inspect

from tests.api.drive import is_problem
from workflows.evaluation.tables import QuarterlyReport

COPIED = [c.key for c in inspect(QuarterlyReport).column_attrs if c.key != "id"]


@pytest.fixture
def stored(circular, db):
    """Versions 1 and 2 of 2026Q3 (the same circular) and a 2026Q2 one, in the emptied database."""
    original = {key: getattr(circular.report, key) for key in COPIED if key not in ("html", "pdf")}
    with db.write() as session:
        for quarter, version in (("2026Q2", 1), ("2026Q3", 1), ("2026Q3", 2)):
            session.add(QuarterlyReport(**{**original, "quarter": quarter, "version": version,
                                           "html": circular.html.replace("2026年第3期", f"{quarter}-v{version}"),
                                           "pdf": circular.pdf}))
    return circular


def test_the_list_has_no_contents_and_links_to_each_version(client, as_staff, stored):
    response = client.get("/api/v1/reports/quarterly?page_size=2", headers=as_staff("evaluator"))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["total"], [(r["quarter"], r["version"]) for r in body["items"]]) == (3, [("2026Q3", 2), ("2026Q3", 1)])
    item = body["items"][0]
    assert item["pdf_url"] == "/api/v1/reports/quarterly/2026Q3.pdf?version=2" and item["generated_by"] == "scheduler"
    assert item["pdf_pages"] == stored.report.pdf_pages and "pdf" not in item and "html" not in item


def test_downloads_give_the_latest_version_or_the_one_asked_for(client, as_staff, stored):
    headers = as_staff("supervisor")
    pdf = client.get("/api/v1/reports/quarterly/2026Q3.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data == stored.pdf
    assert 'filename="circular-2026Q3-v2.pdf"' in pdf.headers["Content-Disposition"]
    latest = client.get("/api/v1/reports/quarterly/2026-q3.html", headers=headers)
    first = client.get("/api/v1/reports/quarterly/2026Q3.html?version=1", headers=headers)
    assert latest.mimetype == "text/html" and "2026Q3-v2" in latest.text and "2026Q3-v1" in first.text
    assert "sandbox" in latest.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/api/v1/reports/quarterly/2026Q5.pdf", 422, "quarter"),
    ("/api/v1/reports/quarterly/last.html", 422, "quarter"),
    ("/api/v1/reports/quarterly/2026Q3.pdf?version=0", 422, "version"),
    ("/api/v1/reports/quarterly/2026Q3.pdf?version=9", 404, None),
    ("/api/v1/reports/quarterly/2025Q4.html", 404, None),
    ("/api/v1/reports/quarterly?page=0", 422, "page"),
])
def test_bad_quarters_and_missing_circulars(client, as_staff, stored, url, status, field):
    response = client.get(url, headers=as_staff("admin"))
    assert is_problem(response, status), response.json
    assert field is None or field in response.json["errors"]
