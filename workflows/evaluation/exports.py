"""The department table as a spreadsheet: CSV (UTF-8 with BOM, so Excel opens it as such) and
XLSX, with the same Chinese column headings and rows as the JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from .kpis import DepartmentKpis, KpiTable, Rate

INSUFFICIENT = "样本不足"


def _rate(name: str) -> Callable[[DepartmentKpis], Rate]:
    return lambda row: getattr(row, name)


# (heading, value of a row); a Rate is written as a percentage, or INSUFFICIENT.
COLUMNS: list[tuple[str, Callable[[DepartmentKpis], Any]]] = [
    ("部门代码", lambda row: row.department_code or ""),
    ("部门", lambda row: row.department_name),
    ("工单量", lambda row: row.petitions),
    ("按时签收率", _rate("on_time_sign")),
    ("按时办结率", _rate("on_time_completion")),
    ("响应率", _rate("response")),
    ("解决率", _rate("resolution")),
    ("满意率", _rate("satisfaction")),
    ("重办率", _rate("reopen")),
    ("退单率", _rate("return_")),
    ("延期率", _rate("extension")),
    ("平均答复用时（工作日）", lambda row: row.avg_reply_days),
    ("答复用时90%分位（工作日）", lambda row: row.p90_reply_days),
    ("催办次数", lambda row: row.urges),
    ("督办次数", lambda row: row.supervision_orders),
    ("通报次数", lambda row: row.public_notices),
    ("当前逾期未办结", lambda row: row.open_overdue),
]
HEADINGS = [heading for heading, _ in COLUMNS]


def _rows(table: KpiTable) -> list[list[Any]]:
    return [[value(row) for _, value in COLUMNS] for row in [*table.departments, table.city]]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, Rate):
        return INSUFFICIENT if value.value is None else f"{value.value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return "" if value is None else value


def to_csv(table: KpiTable) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADINGS)
    writer.writerows([_csv_cell(cell) for cell in row] for row in _rows(table))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: KpiTable) -> bytes:
    """One sheet: headings, a row per department, the city last; rates as percentage cells."""
    book = Workbook()
    sheet = book.active
    sheet.title = f"部门考核指标 {table.start:%Y%m%d}-{table.end:%Y%m%d}"
    sheet.append(HEADINGS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in _rows(table):
        sheet.append([(INSUFFICIENT if cell.value is None else round(cell.value, 4)) if isinstance(cell, Rate)
                      else round(cell, 1) if isinstance(cell, float) else cell for cell in row])
        for cell, value in zip(sheet[sheet.max_row], row):
            if isinstance(value, Rate) and value.value is not None:
                cell.number_format = "0.0%"
    sheet.freeze_panes = "C2"
    sheet.column_dimensions["B"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
