"""Stored circulars: generating a quarter adds its next version (earlier ones stay, so a
circular once sent out can always be shown as it was); lists and downloads read the latest
unless a version is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, undefer

from ..errors import PetitionError
from .circular import Settings, gather
from .periods import Quarter
from .render import TEMPLATE_VERSION, render
from .tables import QuarterlyReport


class UnknownReport(PetitionError):
    def __init__(self, quarter: Quarter, report_version: int | None):
        self.quarter, self.version = quarter, report_version
        super().__init__(f"no circular for {quarter}" + (f" version {report_version}" if report_version else ""))


class QuarterNotOver(PetitionError):
    def __init__(self, quarter: Quarter):
        self.quarter = quarter
        self.errors = {"quarter": [f"{quarter} has not begun"]}
        super().__init__(f"{quarter} has not begun: there is nothing to report yet")


def generator() -> str:
    """What made a circular: the software's version and the template's."""
    try:
        software = version("minyi")
    except PackageNotFoundError:  # running from a source tree that was never installed
        software = "source"
    return f"minyi {software}, template {TEMPLATE_VERSION}"


@dataclass(frozen=True)
class Generated:
    report: QuarterlyReport
    html: str
    pdf: bytes


def generate(session: Session, quarter: Quarter, now: datetime, tz: ZoneInfo, by: str,
             settings: Settings = Settings()) -> Generated:
    """Gather, render and store the next version of `quarter`'s circular. Raises QuarterNotOver
    for a quarter that has not begun (a running quarter may be reported on, as far as it goes)."""
    if quarter.span.first > now.astimezone(tz).date():
        raise QuarterNotOver(quarter)
    rendered = render(gather(session, quarter, now, tz, settings))
    latest = session.scalar(select(func.max(QuarterlyReport.version)).where(QuarterlyReport.quarter == str(quarter)))
    report = QuarterlyReport(quarter=str(quarter), version=(latest or 0) + 1, generated_at=now, generated_by=by,
                             generator=generator(), html=rendered.html, pdf=rendered.pdf, pdf_pages=rendered.pages,
                             pdf_bytes=len(rendered.pdf))
    session.add(report)
    session.flush()
    return Generated(report, rendered.html, rendered.pdf)


def reports_query() -> Select:
    """Every stored circular without its contents, the latest quarter and version first."""
    return select(QuarterlyReport).order_by(QuarterlyReport.quarter.desc(), QuarterlyReport.version.desc())


def stored(session: Session, quarter: Quarter, report_version: int | None = None) -> QuarterlyReport:
    """A circular with its contents: the given version, or the latest. Raises UnknownReport."""
    query = (select(QuarterlyReport).options(undefer(QuarterlyReport.html), undefer(QuarterlyReport.pdf))
             .where(QuarterlyReport.quarter == str(quarter)).order_by(QuarterlyReport.version.desc()).limit(1))
    if report_version is not None:
        query = query.where(QuarterlyReport.version == report_version)
    report = session.scalars(query).first()
    if report is None:
        raise UnknownReport(quarter, report_version)
    return report
