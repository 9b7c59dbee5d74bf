"""`minyi demo`: reference data and a few hundred synthetic petitions, spread over every state.

The petitions are written here (fictional places, common municipal matters), submitted over
the past weeks on a simulated clock and driven through the real processes by the same calls
staff and citizens use, like a real city's: most on time, a minority late, a few escalated.
Timers fire on the simulated clock as they fall due, so escalations are dated when they happened.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine import Database, HumanTask, fire_due_timers
from engine.models import PENDING_TASK_STATUSES

from .calendar import seed_from_library
from .domain import Domain, create_domain
from .models import Department, Petition, RoutingRule
from .petitions import Submission

DEPARTMENTS = {
    "ZJJ": "市住房和城乡建设局",
    "HBJ": "市生态环境局",
    "JTJ": "市交通运输局",
    "SCJ": "市市场监督管理局",
    "RSJ": "市人力资源和社会保障局",
    "JYJ": "市教育局",
    "WJW": "市卫生健康委员会",
    "CGJ": "市城市管理和综合执法局",
}
# Routing rules: the first-level categories of the 12345 scheme the triage classifier learns
# (../shared/datasets/categories.csv). City management (城管执法, 环境卫生) is part of 城乡建设
# there: those matters are 城乡建设 petitions that the dispatcher sends to CGJ instead (HANDLED_BY).
CATEGORIES = {
    "城乡建设": "ZJJ", "环境保护": "HBJ", "交通运输": "JTJ", "商贸旅游": "SCJ",
    "劳动和社会保障": "RSJ", "教育文体": "JYJ", "卫生计生": "WJW",
}
PLACES = ["东湖区梧桐路", "西城区银杏小区", "南山区滨江花园", "北岭区翠竹街道", "高新区创业大道", "东湖区桂花苑",
          "西城区老街菜市场", "南山区第二中学附近", "北岭区工业园", "高新区星河湾小区"]
MATTERS = {
    "城乡建设": [("小区电梯频繁故障", "{place}的电梯近一个月频繁故障，多次困人，物业维修不及时，请督促整改。"),
             ("老旧小区改造进度缓慢", "{place}老旧小区改造去年开工，至今道路仍未恢复，居民出行困难。")],
    "环境保护": [("夜间施工噪音扰民", "{place}附近工地每天夜里十一点后仍在施工，噪音很大，严重影响休息。"),
             ("餐馆油烟直排", "{place}底商餐馆油烟未经净化直接排放，楼上住户无法开窗。")],
    "交通运输": [("公交线路调整后出行不便", "{place}的公交站点取消后，最近的站要走二十分钟，老人出行不便。"),
             ("路口信号灯时间过短", "{place}路口行人绿灯只有十五秒，老人和孩子过马路很危险。")],
    "商贸旅游": [("预付卡商家跑路", "{place}一家健身房突然关门，会员卡余额无法退还，涉及数百人。"),
             ("超市销售过期食品", "在{place}一家超市购买的牛奶已过保质期，商家拒绝退换。")],
    "劳动和社会保障": [("工资被拖欠三个月", "我在{place}一家装修公司工作，已被拖欠三个月工资，请帮助追讨。"),
                 ("社保缴费基数不符", "{place}某公司按最低基数为员工缴纳社保，与实际工资不符。")],
    "教育文体": [("学校周边交通拥堵", "{place}学校放学时段接送车辆乱停，交通拥堵严重，存在安全隐患。"),
             ("课外培训机构违规收费", "{place}一家培训机构一次性收取两年学费，现已停课不退费。")],
    "卫生计生": [("社区医院排队时间长", "{place}社区卫生服务中心只有一名医生，看病要排队两三个小时。"),
             ("诊所无证行医", "{place}有一家诊所疑似无证行医，请卫生部门核查。")],
}
MATTERS["城乡建设"] += [("占道经营影响通行", "{place}人行道被摊贩长期占用，行人只能走机动车道。"),
                    ("垃圾清运不及时", "{place}垃圾桶满了两三天没人清运，气味难闻，蚊蝇滋生。")]
HANDLED_BY = {"占道经营影响通行": "CGJ", "垃圾清运不及时": "CGJ"}  # the dispatcher's choice over the routing rule
TYPES = ["complaint", "complaint", "help", "suggestion", "consultation", "report", "letters"]


@dataclass
class SimulatedClock:
    """The demo's own clock: petitions are submitted and handled in the past."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def seed_reference_data(db: Database, now: datetime) -> None:
    """Departments, routing rules and this and next year's calendar; idempotent."""
    with db.write() as session:
        for code, name in DEPARTMENTS.items():
            session.merge(Department(code=code, name=name, active=True))
        session.flush()
        for category, code in CATEGORIES.items():
            session.merge(RoutingRule(category=category, department_code=code))
        seed_from_library(session, [now.year, now.year + 1], now)


def seed_demo(db: Database, now: datetime, count: int = 300, seed: int = 2026, timezone: str = "Asia/Shanghai",
              pseudonym_key: bytes | None = None) -> Counter:
    """Submit `count` petitions over the past 30 days and play staff and citizens until `now`.

    Every move of every petition is played in time order on one simulated clock, and the
    timers due by each move fire first, as the scheduler would have fired them: escalations
    and deemed sign-fors happen when their deadlines pass, never earlier.
    """
    seed_reference_data(db, now)
    rng = random.Random(seed)
    clock = SimulatedClock(now - timedelta(days=30))
    domain = create_domain(db, timezone=timezone, clock=clock, pseudonym_key=pseudonym_key)
    moves: list[tuple[datetime, int, Petitioner]] = []
    for index in range(count):
        received_at = now - timedelta(days=30) + timedelta(days=30) * index / count
        heapq.heappush(moves, (received_at, index, Petitioner(index, rng.random())))
    while moves:
        at, order, petitioner = heapq.heappop(moves)
        clock.now = at
        fire_due_timers(db, domain.engine, at, owner="demo")
        next_at = petitioner.move(domain, rng, at)
        if next_at is not None and next_at < now:
            heapq.heappush(moves, (next_at, order, petitioner))
    clock.now = now
    fire_due_timers(db, domain.engine, now, owner="demo")
    with db.read() as session:
        return Counter(p.status.value for p in session.scalars(select(Petition)))


@dataclass
class Petitioner:
    """One petition's life in the demo: its citizen, and the staff who handle it.

    `luck` decides how it goes: most petitions are signed for and answered well within their
    deadlines, some late, a few left lying until the supervision ladder reaches them.
    """

    index: int
    luck: float
    petition_id: int | None = None
    department: str | None = None

    @property
    def late(self) -> bool:
        return self.luck < 0.12

    @property
    def abandoned(self) -> bool:
        return self.luck < 0.03

    def move(self, domain: Domain, rng: random.Random, at: datetime) -> datetime | None:
        """Make this petition's next move at `at`; when its next move is due, or None when it has none."""
        if self.petition_id is None:
            self._submit(domain, rng)
        else:
            task = self._pending_task(domain)
            if task is None or task.task_spec not in ANSWERS:
                return None
            with domain.db.write() as session:
                domain.petitions.complete_task(session, task.id, ANSWERS[task.task_spec](rng, self.department), "demo")
        task = self._pending_task(domain)
        if task is None or task.task_spec not in ANSWERS or (self.abandoned and task.task_spec == "handle"):
            return None
        return at + self._time_to_answer(rng, task, at)

    def _submit(self, domain: Domain, rng: random.Random) -> None:
        category = rng.choice(list(CATEGORIES))
        title, body = rng.choice(MATTERS[category])
        place = rng.choice(PLACES)
        emergency = rng.random() < 0.02
        submission = Submission(
            type=rng.choice(TYPES), title=title, body=body.format(place=place), location=place, category=category,
            urgency="critical" if emergency else rng.choice(["normal"] * 8 + ["urgent"]),
            emergency_hint=rng.choice(["110", "119", "120"]) if emergency else "none",
            contact_name=f"市民{self.index:03d}", contact_phone=f"1380000{self.index:04d}",
            channel=rng.choice(["web", "phone", "mail"]),
        )
        with domain.db.write() as session:
            self.petition_id = domain.petitions.submit(session, submission).petition.id
        self.department = HANDLED_BY.get(title, CATEGORIES[category])

    def _pending_task(self, domain: Domain) -> HumanTask | None:
        with domain.db.read() as session:
            instance_id = session.get(Petition, self.petition_id).instance_id
            return session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status.in_(PENDING_TASK_STATUSES))
                .order_by(HumanTask.created_at)
            ).first()

    def _time_to_answer(self, rng: random.Random, task: HumanTask, at: datetime) -> timedelta:
        """Sign-for and handling: early within the deadline, or past it for a late petition; any
        other task within a day."""
        if task.task_spec not in ("sign_for", "handle") or task.due_at is None or task.due_at <= at:
            return timedelta(hours=rng.uniform(1, 24))
        if self.late:
            return task.due_at - at + timedelta(days=rng.uniform(0.5, 4))
        return (task.due_at - at) * rng.uniform(0.05, 0.6)


ANSWERS: dict[str, Callable[[random.Random, str], dict[str, Any]]] = {
    "triage_petition": lambda rng, department: {"decision": "reject", "reject_reason": "duplicate"}
    if rng.random() < 0.06 else {"decision": "dispatch", "department": department},
    "sign_for": lambda rng, department: {"sign_decision": "return", "return_reason": "不属于本单位职责"}
    if rng.random() < 0.04 else {"sign_decision": "sign"},
    "handle": lambda rng, department: rng.choices([
        {"action": "reply", "reply": "经核查，已责成相关单位整改，并将持续跟踪。"},
        {"action": "reply", "reply": "您反映的问题已处理完毕，感谢您的监督。"},
        {"action": "transfer", "transfer_to": rng.choice([c for c in DEPARTMENTS if c != department])},
        {"action": "cohandle", "assisting": rng.sample([c for c in DEPARTMENTS if c != department], 2)},
        {"action": "request_info", "info_request": "请补充具体地址和现场照片。"},
        {"action": "extend", "extension_days": 3, "extension_reason": "需多部门现场核查"},
    ], weights=[40, 40, 5, 4, 5, 6])[0],
    "review_reply": lambda rng, department: {"approved": rng.random() < 0.9, "review_comment": "请补充处理时限"},
    "rate_reply": lambda rng, department: {"rating": rng.choice([5, 5, 5, 4, 4, 4, 3, 2]), "solved": rng.random() < 0.85},
    "approve_extension": lambda rng, department: {"extension_approved": True, "granted_days": 3},
    "provide_info": lambda rng, department: {"information": "已补充照片，地址为小区东门。"},
    "assist": lambda rng, department: {"contribution": "已配合处理。"},
    "issue_order": lambda rng, department: {"instructions": "请于三个工作日内办结并报告。"},
    "review_dissatisfaction": lambda rng, department: {"conclusion": "已充分答复，予以办结。"},
}
