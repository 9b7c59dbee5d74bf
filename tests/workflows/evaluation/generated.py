"""One quarterly circular made as the scheduler makes it, shared by the tests that read it (a
WeasyPrint rendering takes seconds): petitions driven through the real processes by the demo
seeder, panel scores, then the quarterly job at the start of the next quarter (moved clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from engine import Database
from engine.db import utcnow
from engine.models import JobRun
from tests.conftest import empty_database
from workflows import jobs
from workflows.demo import seed_demo
from workflows.domain import create_domain
from workflows.models import Escalation
from workflows.evaluation.kpis import DepartmentKpis, department_table
from workflows.evaluation.panel import Scores, submit_scores
from workflows.evaluation.periods import HalfYear
from workflows.evaluation.tables import QuarterlyReport
from workflows.staff import Role, create_staff

TZ = ZoneInfo("Asia/Shanghai")
BPMN = Path(__file__).resolve().parents[3] / "bpmn"
SEEDED_AT = datetime(2026, 9, 29, 8, 0, tzinfo=timezone.utc)  # 30 days of petitions before it, all in Q3
SECTIONS = ["一、总体情况", "二、各单位办理情况", "三、超期办理及公开通报情况", "四、第三方评议情况",
            "五、群众反映的热点问题", "六、下一步工作要求", "附件"]


@dataclass
class Circular:
    report: QuarterlyReport
    html: str
    pdf: bytes
    ran: list[bool]  # the job's answers: ran, then already claimed
    job_run: JobRun
    city: DepartmentKpis  # the quarter's city-wide KPIs as seeded
    escalations: list[Escalation]


def make_circular(db: Database) -> Circular:
    """Empty `db`, fill it and run the job; the stored circular of 2026Q3 and the job's run."""
    empty_database(db)
    files = [(p.name, p.read_bytes()) for p in sorted(BPMN.iterdir()) if p.suffix in (".bpmn", ".dmn")]
    with db.write() as session:
        create_domain(db).engine.definitions.deploy(session, files, actor="test")
    seed_demo(db, SEEDED_AT, count=60, seed=7)
    with db.read() as session:
        city = department_table(session, date(2026, 7, 1), date(2026, 9, 30), now=SEEDED_AT).city
        escalations = list(session.scalars(select(Escalation)))
    with db.write() as session:
        panel = [create_staff(session, name, Role.EVALUATOR, None, SEEDED_AT).staff for name in ("专家甲", "代表乙")]
        for evaluator, scores in zip(panel, (Scores(26, 24, 33, "答复较规范"), Scores(22, 27, 36))):
            submit_scores(session, HalfYear(2026, 2), "ZJJ", evaluator, scores, SEEDED_AT, TZ)
    quarter_job = {job.id: job for job in jobs.cron_jobs("Asia/Shanghai")}[jobs.QUARTERLY_REPORT_JOB_ID]
    fires_at = quarter_job.trigger.get_next_fire_time(None, SEEDED_AT)
    assert fires_at.isoformat() == "2026-10-01T06:00:00+08:00"
    with time_machine.travel(fires_at, tick=False):
        ran = [jobs.run_quarterly_report(db, worker, utcnow(), TZ) for worker in ("w1", "w2")]
    with db.read() as session:
        report = session.scalars(select(QuarterlyReport).where(QuarterlyReport.quarter == "2026Q3")).one()
        html, pdf = report.html, report.pdf
        job_run = session.scalars(select(JobRun)).one()
    return Circular(report, html, pdf, ran, job_run, city, escalations)
