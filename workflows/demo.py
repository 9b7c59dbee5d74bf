"""`minyi demo`: reference data and a few hundred synthetic petitions, spread over every state.

The petitions are written here (fictional places, common municipal matters), submitted over
the past weeks on a simulated clock and driven through the real processes by the same calls
staff and citizens use. Petitions whose deadlines passed on the way were escalated for real.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine import Database, HumanTask
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
    """Submit `count` petitions over the past 30 days and drive each to a random stage."""
    seed_reference_data(db, now)
    rng = random.Random(seed)
    clock = SimulatedClock(now - timedelta(days=30))
    domain = create_domain(db, timezone=timezone, clock=clock, pseudonym_key=pseudonym_key)
    for index in range(count):
        clock.now = now - timedelta(days=30) + timedelta(days=30) * index / count
        category = rng.choice(list(CATEGORIES))
        title, body = rng.choice(MATTERS[category])
        place = rng.choice(PLACES)
        emergency = rng.random() < 0.02
        submission = Submission(
            type=rng.choice(TYPES), title=title, body=body.format(place=place), location=place, category=category,
            urgency="critical" if emergency else rng.choice(["normal"] * 8 + ["urgent"]),
            emergency_hint=rng.choice(["110", "119", "120"]) if emergency else "none",
            contact_name=f"市民{index:03d}", contact_phone=f"1380000{index:04d}", channel=rng.choice(["web", "phone", "mail"]),
        )
        with db.write() as session:
            petition_id = domain.petitions.submit(session, submission).petition.id
        _drive(domain, clock, rng, petition_id, HANDLED_BY.get(title, CATEGORIES[category]), age=now - clock.now)
    with db.read() as session:
        return Counter(p.status.value for p in session.scalars(select(Petition)))


def _drive(domain: Domain, clock: SimulatedClock, rng: random.Random, petition_id: int, department: str, age: timedelta) -> None:
    """Play staff and citizen for one petition, choosing at random how far it gets."""
    steps = rng.randint(0, 7) if age > timedelta(days=2) else rng.randint(0, 2)
    answers: dict[str, Callable[[], dict[str, Any]]] = {
        "triage_petition": lambda: {"decision": "reject", "reject_reason": "duplicate"} if rng.random() < 0.08
        else {"decision": "dispatch", "department": department},
        "sign_for": lambda: {"sign_decision": "return", "return_reason": "不属于本单位职责"} if rng.random() < 0.05
        else {"sign_decision": "sign"},
        "handle": lambda: rng.choice([
            {"action": "transfer", "transfer_to": rng.choice([c for c in DEPARTMENTS if c != department])},
            {"action": "cohandle", "assisting": rng.sample([c for c in DEPARTMENTS if c != department], 2)},
            {"action": "reply", "reply": "经核查，已责成相关单位整改，并将持续跟踪。"},
            {"action": "reply", "reply": "您反映的问题已处理完毕，感谢您的监督。"},
            {"action": "request_info", "info_request": "请补充具体地址和现场照片。"},
            {"action": "extend", "extension_days": 3, "extension_reason": "需多部门现场核查"},
        ]),
        "review_reply": lambda: {"approved": rng.random() < 0.85, "review_comment": "请补充处理时限"},
        "rate_reply": lambda: {"rating": rng.choice([5, 5, 4, 4, 3, 2, 1]), "solved": rng.random() < 0.8},
        "approve_extension": lambda: {"extension_approved": True, "granted_days": 3},
        "provide_info": lambda: {"information": "已补充照片，地址为小区东门。"},
        "assist": lambda: {"contribution": "已配合处理。"},
        "issue_order": lambda: {"instructions": "请于三个工作日内办结并报告。"},
        "review_dissatisfaction": lambda: {"conclusion": "已充分答复，予以办结。"},
    }
    for _ in range(steps):
        clock.now += timedelta(hours=rng.randint(1, 20))
        with domain.db.read() as session:
            instance_id = session.get(Petition, petition_id).instance_id
            task = session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status.in_(PENDING_TASK_STATUSES))
                .order_by(HumanTask.created_at)
            ).first()
        if task is None or task.task_spec not in answers:
            return
        with domain.db.write() as session:
            domain.petitions.complete_task(session, task.id, answers[task.task_spec](), "demo")
