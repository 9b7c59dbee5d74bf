"""The quarterly circular the scheduler writes at the start of a quarter, read back from the
database: the job's run, the PDF's sections and pages, the HTML (fixture `circular`, made once
per backend: tests/workflows/evaluation/generated.py)."""

from __future__ import annotations

import io
from datetime import datetime, timezone

from pypdf import PdfReader

from tests.workflows.evaluation.generated import SECTIONS


def test_the_job_stores_the_quarter_just_ended_once(circular):
    assert circular.ran == [True, False]
    assert (circular.job_run.period, circular.job_run.error, circular.job_run.finished_at is not None) == (
        "2026Q3", None, True)
    report = circular.report
    assert (report.version, report.generated_by, report.pdf_bytes) == (1, "scheduler", len(circular.pdf))
    assert report.generator.startswith("minyi ") and report.generated_at == datetime(2026, 9, 30, 22, tzinfo=timezone.utc)


def test_the_pdf_has_every_section_and_a_landscape_attachment(circular):
    reader = PdfReader(io.BytesIO(circular.pdf))
    pages = [page.extract_text() for page in reader.pages]
    text = "".join(pages).replace("\n", "")
    assert len(reader.pages) == circular.report.pdf_pages >= 4
    assert "网上群众诉求办理情况通报" in pages[0] and "2026年第三季度" in pages[0] and "市人民政府办公室" in pages[0]
    positions = [text.find(section) for section in SECTIONS]
    assert -1 not in positions and positions == sorted(positions), dict(zip(SECTIONS, positions))
    assert "表1" in text and "综合得分" in text and "图1" in text and "图2" in text and "图3" in text
    assert "样本不足" in text  # 60 petitions leave some rates below the minimum sample
    assert "2026年下半年第三方评议得分" in text and "市住房和城乡建设局" in text
    first, last = reader.pages[0].mediabox, reader.pages[-1].mediabox
    assert first.width < first.height and last.width > last.height  # A4 portrait, the attachment landscape
    assert "各单位网上群众诉求办理指标" in pages[-1]


def test_the_html_is_one_self_contained_file(circular):
    html = circular.html
    assert html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html
    assert html.count('src="data:image/svg+xml;base64,') == 3  # the three charts, inline
    assert "http://" not in html and "https://" not in html and "file:" not in html
    for section in SECTIONS:
        assert section in html


def test_the_demo_quarter_looks_like_a_real_citys(circular):
    """Most petitions signed for and completed on time, a few escalated, and no rung of the
    ladder dated before the deadline it is about (the warning alone comes before it)."""
    city = circular.city
    assert city.on_time_sign.numerator >= 0.8 * city.on_time_sign.denominator > 0
    assert city.on_time_completion.numerator >= 0.8 * city.on_time_completion.denominator > 0
    assert city.urges + city.supervision_orders + city.public_notices < 0.2 * city.petitions
    late = [(e.level, e.created_at, e.deadline) for e in circular.escalations
            if e.level != "warning" and e.created_at <= e.deadline]
    assert late == []
