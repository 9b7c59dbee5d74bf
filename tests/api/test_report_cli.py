"""`minyi report quarterly` against the real app and database."""

from __future__ import annotations

from datetime import datetime, timezone

import time_machine
from sqlalchemy import select

from workflows.evaluation.tables import QuarterlyReport
from workflows.models import Department

IN_OCTOBER = datetime(2026, 10, 9, 2, 0, tzinfo=timezone.utc)


def test_writes_html_and_pdf_and_stores_each_run_as_a_new_version(runner, db, tmp_path):
    with db.write() as session:
        session.add(Department(code="D01", name="市住房和城乡建设局", active=True))
    out = tmp_path / "circulars"
    with time_machine.travel(IN_OCTOBER, tick=False):
        results = [runner.invoke(args=["report", "quarterly", "2026Q3", "--out", str(out)]) for _ in range(2)]
    assert [r.exit_code for r in results] == [0, 0], results[0].output
    assert "2026Q3 circular, version 2" in results[1].output
    pdf, html = (out / "circular-2026Q3.pdf").read_bytes(), (out / "circular-2026Q3.html").read_text(encoding="utf-8")
    assert pdf.startswith(b"%PDF-") and "关于2026年第三季度" in html and "本季度暂无诉求" in html
    with db.read() as session:
        stored = session.execute(select(QuarterlyReport.version, QuarterlyReport.generated_by, QuarterlyReport.pdf_bytes)
                                 .order_by(QuarterlyReport.version)).all()
    assert stored == [(1, "cli", stored[0].pdf_bytes), (2, "cli", len(pdf))]


def test_a_bad_or_future_quarter_is_refused(runner, db):
    with time_machine.travel(IN_OCTOBER, tick=False):
        bad = runner.invoke(args=["report", "quarterly", "2026Q7"])
        future = runner.invoke(args=["report", "quarterly", "2027Q1"])
    assert bad.exit_code == 2 and "is not a quarter" in bad.output
    assert future.exit_code == 2 and "2027Q1 has not begun" in future.output
