"""Department KPIs against hand-computed figures of a scripted week (tests/api/kpi_history.py),
the minimum-sample rule, and the fact table rebuilt from the audit log."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from tests.api.drive import Desk, is_problem
from tests.api.kpi_history import D01, D02, MONDAY, THURSDAY, live_week
from workflows.evaluation import Rate, department_kpis, department_table
from workflows.evaluation.models import KpiAssignment

WEEK = (date(2026, 9, 14), date(2026, 9, 20))


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def week(app, client, as_staff, clock, reference_data):
    return live_week(app, Desk(client, as_staff), clock)


def figures(kpis, expected: dict) -> dict:
    """The KPIs named in `expected`, rates as (numerator, denominator)."""
    got = {}
    for name in expected:
        value = getattr(kpis, name)
        got[name] = (value.numerator, value.denominator) if isinstance(value, Rate) else value
    return got


def test_the_week_gives_the_hand_computed_figures(db, week):
    with db.read() as session:
        table = department_table(session, *WEEK, min_sample=1, now=THURSDAY)
        one = department_kpis(session, "D01", *WEEK, min_sample=1, now=THURSDAY)
    rows = {row.department_code: row for row in table.departments}
    assert list(rows) == ["D01", "D02", "D03"]
    assert figures(rows["D01"], D01) == D01 and one == rows["D01"]
    assert figures(rows["D02"], D02) == D02
    assert rows["D03"].petitions == 0 and rows["D03"].satisfaction.value is None
    city = table.city
    assert (city.department_code, city.department_name, city.petitions) == (None, "全市", 7)
    assert (city.on_time_sign.numerator, city.on_time_sign.denominator) == (6, 7)
    assert city.return_.value == pytest.approx(1 / 7) and city.open_overdue == 2
    assert rows["D01"].satisfaction.value == pytest.approx(2 / 3)


def test_below_the_minimum_sample_a_rate_is_insufficient_never_100_percent(db, week):
    with db.read() as session:
        default = department_table(session, *WEEK, now=THURSDAY)
        three = department_table(session, *WEEK, min_sample=3, now=THURSDAY)
    assert default.min_sample == 10
    assert all(getattr(default.city, name).value is None for name in ("on_time_sign", "satisfaction", "return_"))
    d01, d02 = three.departments[:2]
    assert d01.satisfaction.sufficient and d01.satisfaction.value == pytest.approx(2 / 3)
    assert (d02.on_time_sign.numerator, d02.on_time_sign.denominator, d02.on_time_sign.value) == (1, 1, None)
    assert not d02.on_time_sign.sufficient


def test_other_periods_do_not_see_the_week(db, week):
    with db.read() as session:
        before = department_table(session, date(2026, 9, 1), date(2026, 9, 13), min_sample=1, now=THURSDAY)
    assert before.city.petitions == 0 and before.city.avg_reply_days is None
    assert before.city.open_overdue == 2  # open overdue is about now, not about the period


def test_rebuilding_from_the_audit_log_gives_the_same_facts(runner, db, week):
    def facts():
        with db.read() as session:
            rows = session.scalars(select(KpiAssignment).order_by(KpiAssignment.petition_id, KpiAssignment.id))
            return [{k: v for k, v in vars(row).items() if k not in ("_sa_instance_state", "id")} for row in rows]

    live = facts()
    result = runner.invoke(args=["kpi", "rebuild"])
    assert result.exit_code == 0 and result.output.startswith("7 assignments rebuilt")
    assert facts() == live


# -- over HTTP -------------------------------------------------------------------------------

WEEK_QUERY = {"from": "2026-09-14", "to": "2026-09-20"}
PERCENT_OR_NONE = {"样本不足": None}


def get(client, headers, path="/api/v1/reports/departments", **query):
    return client.get(path, query_string={**WEEK_QUERY, **query}, headers=headers)


def exported_rows(rows: list[list]) -> dict[str, dict[str, object]]:
    """Spreadsheet rows keyed by department code ("" for the city), cells under their headings."""
    headings, *body = rows
    return {str(row[0] or ""): dict(zip(headings, row)) for row in body}


def percent(cell) -> float | None:
    """A rate cell back as a fraction: "66.7%" in CSV, 0.6667 in XLSX, 样本不足 for none."""
    if cell in PERCENT_OR_NONE:
        return None
    return float(cell.rstrip("%")) / 100 if isinstance(cell, str) else float(cell)


def test_the_table_and_its_csv_and_xlsx_say_the_same(app, client, as_staff, week):
    app.config["KPI_MIN_SAMPLE"] = 3
    evaluator = as_staff("evaluator")
    body = get(client, evaluator).get_json()
    assert body["min_sample"] == 3 and body["from"] == "2026-09-14"
    by_code = {row["department_code"] or "": row for row in [*body["departments"], body["city"]]}
    assert by_code["D01"]["return"]["denominator"] == 6 and by_code[""]["petitions"] == 7

    csv_response = get(client, evaluator, format="csv")
    assert csv_response.mimetype == "text/csv" and csv_response.data.startswith("\ufeff".encode())
    assert "attachment" in csv_response.headers["Content-Disposition"]
    csv_rows = list(csv.reader(io.StringIO(csv_response.data.decode("utf-8-sig"))))
    xlsx_response = get(client, evaluator, format="xlsx")
    sheet = load_workbook(io.BytesIO(xlsx_response.data)).active
    xlsx_rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    for rows in (csv_rows, xlsx_rows):
        exported = exported_rows(rows)
        assert set(exported) == set(by_code)
        for code, row in by_code.items():
            cells = exported[code]
            assert cells["部门"] == row["department_name"] and int(cells["工单量"]) == row["petitions"]
            for heading, name in (("满意率", "satisfaction"), ("按时签收率", "on_time_sign"), ("退单率", "return")):
                expected = row[name]["value"]
                assert percent(cells[heading]) == (None if expected is None else pytest.approx(expected, abs=5e-4))
            assert int(cells["催办次数"]) == row["urges"]


def test_the_petitions_behind_a_department_s_figures(client, as_staff, week):
    body = get(client, as_staff("supervisor"), "/api/v1/reports/departments/D01", limit=1).get_json()
    assert body["kpis"]["urges"] == 3 and body["min_sample"] == 10
    listed = body["petitions"]
    assert listed["satisfaction"]["total"] == 1 and listed["reopen"]["total"] == 1
    assert [p["tracking_no"] for p in listed["satisfaction"]["petitions"]] == [week.late.tracking_no]
    assert listed["on_time_sign"]["petitions"][0]["tracking_no"] == week.deemed.tracking_no
    assert listed["on_time_completion"]["total"] == 3 and len(listed["on_time_completion"]["petitions"]) == 1
    assert listed["extension"]["petitions"][0]["tracking_no"] == week.extended.tracking_no
    assert listed["escalated"]["total"] == 3 and listed["open_overdue"]["total"] == 2
    d02 = get(client, as_staff("evaluator"), "/api/v1/reports/departments/D02").get_json()["petitions"]
    assert [p["tracking_no"] for p in d02["return"]["petitions"]] == [week.returned.tracking_no]


def test_a_handler_reads_its_own_department_only(client, as_staff, reference_data):
    handler = as_staff("handler", "D02")
    table = get(client, handler).get_json()
    assert [row["department_code"] for row in table["departments"]] == ["D02"] and table["city"]["department_code"] is None
    assert get(client, handler, "/api/v1/reports/departments/D02").status_code == 200
    assert is_problem(get(client, handler, "/api/v1/reports/departments/D01"), 404)
    assert is_problem(get(client, as_staff("evaluator"), "/api/v1/reports/departments/D99"), 404)


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"),
    ({"from": "2026-09-20", "to": "2026-09-14"}, "from"), ({"from": "2999-01-01"}, "from"), ({"format": "pdf"}, "format"),
])
def test_bad_periods_and_formats_are_422_with_field_errors(client, as_staff, reference_data, query, field):
    response = client.get("/api/v1/reports/departments", query_string=query, headers=as_staff("admin"))
    assert is_problem(response, 422) and field in response.get_json()["errors"]
