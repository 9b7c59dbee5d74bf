"""A crafted corpus: three known matters written in varied words, among unrelated petitions."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workflows.text.hotspots import Doc

DATASETS = Path(__file__).resolve().parents[4] / "shared" / "datasets"
END = datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)  # midnight, 1 October, in Shanghai

MIXING_PLANT = [  # 8 petitioners
    ("A2区丽发新城小区旁搅拌站噪音扰民", "丽发新城小区附近的搅拌站日夜施工，噪音和灰尘严重影响居民休息。"),
    ("丽发新城搅拌站灰尘污染严重", "暮云街道丽发新城小区旁边的搅拌站粉尘很大，窗户都不敢开。"),
    ("投诉丽发新城小区搅拌站夜间施工", "搅拌站晚上十二点还在作业，丽发新城小区的业主无法入睡。"),
    ("请求搬迁丽发新城旁的搅拌站", "A2区丽发新城小区紧挨搅拌站，噪音灰尘污染，请求搬迁。"),
    ("丽发新城小区搅拌站违规建设", "A2区丽发新城小区旁新建搅拌站，距离住宅太近，噪音扰民。"),
    ("搅拌站影响丽发新城居民健康", "丽发新城的搅拌站扬尘和噪音危害居民健康，老人小孩受影响。"),
    ("A2区丽发新城搅拌站噪音太大", "丽发新城小区旁搅拌站的搅拌车进出频繁，噪音灰尘不断。"),
    ("暮云街道丽发新城搅拌站扰民", "丽发新城小区搅拌站每天施工，噪音和灰尘让居民苦不堪言。"),
]
PARKING = [  # 6 petitioners
    ("伊景园滨河苑捆绑销售车位", "A市伊景园滨河苑开发商强制捆绑销售车位，不买车位不能收房。"),
    ("投诉伊景园滨河苑车位捆绑", "伊景园滨河苑购房必须同时购买车位，捆绑销售侵害购房者权益。"),
    ("伊景园滨河苑违规捆绑销售车位", "伊景园滨河苑定向销售，开发商要求捆绑购买车位，价格很高。"),
    ("关于伊景园滨河苑车位捆绑的维权", "我们是伊景园滨河苑的购房者，开发商捆绑销售车位十几万。"),
    ("伊景园滨河苑强制买车位", "伊景园滨河苑收房时被要求买车位，捆绑销售是否合法？"),
    ("伊景园滨河苑车位捆绑销售问题", "伊景园滨河苑捆绑销售车位，请相关部门调查开发商。"),
]
TUTORING = [  # 5 petitioners
    ("A6区一中暑假强制补课收费", "A6区第一中学暑假组织学生补课，每人收费两千元，家长负担重。"),
    ("一中违规补课收费", "学校放假期间强制学生到校补课并且收取补课费。"),
    ("反映第一中学暑假补课乱收费", "暑假补课收费，学生不去补课老师就批评，请教育局查处。"),
    ("学校强制补课收费是否合规", "第一中学寒暑假都要补课，补课费按月收取，学生很累。"),
    ("举报一中假期补课收费", "第一中学假期有偿补课，强制学生参加补课，收费不透明。"),
]
OTHERS = [
    ("咨询公积金贷款额度", "购买首套房公积金贷款最高能贷多少？"),
    ("路灯不亮", "银杉路的路灯坏了很久，晚上出行不安全。"),
    ("建议增开公交线路", "希望开通从星沙到火车站的直达公交。"),
    ("医保异地报销问题", "在外地住院，医保报销手续很麻烦。"),
    ("出租车拒载", "在火车站打车，出租车司机拒载短途乘客。"),
    ("垃圾分类设施不足", "小区只有一个垃圾桶，分类投放无法进行。"),
    ("小区电梯经常故障", "金星路某小区电梯经常停运，物业不维修。"),
    ("农村自来水到户", "春华镇金鼎村还没有通自来水，希望解决。"),
    ("人才购房补贴申请", "博士毕业来A市工作，人才购房补贴怎么申请？"),
    ("广场舞噪音", "五一广场晚上广场舞音响声音太大。"),
    ("违章停车堵塞消防通道", "小区消防通道被私家车长期占用。"),
    ("幼儿园入园难", "普惠性幼儿园学位不够，孩子上不了幼儿园。"),
]
TOPICS = {"mixing_plant": MIXING_PLANT, "parking": PARKING, "tutoring": TUTORING}


def corpus(end: datetime = END) -> tuple[list[Doc], dict[str, set[int]]]:
    """The corpus as hotspot documents (one petitioner each, a day apart) and the ids of each matter."""
    docs: list[Doc] = []
    truth: dict[str, set[int]] = {}
    rows = [(name, row) for name, rows in TOPICS.items() for row in rows] + [(None, row) for row in OTHERS]
    for index, (name, (title, body)) in enumerate(rows, start=1):
        docs.append(Doc(index, title, body, end - timedelta(days=index), f"u{index}"))
        if name:
            truth.setdefault(name, set()).add(index)
    return docs, truth


def as_csv(docs: list[Doc]) -> str:
    """The documents as a messages CSV, for the importer."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "user", "title", "created_at", "body", "likes", "dislikes"])
    for d in docs:
        writer.writerow([d.id, d.petitioner, d.title, d.created_at.isoformat(), d.body, d.likes, d.dislikes])
    return out.getvalue()
