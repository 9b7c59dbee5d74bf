"""`import_messages`: historical rows become closed petitions, once, and bad files name the cell."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from workflows.models import Petition
from workflows.statuses import PetitionStatus, PublicStatus
from workflows.text.importer import MalformedCsv, import_messages

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
HOT = (
    "id,user,title,created_at,body,likes,dislikes\n"
    "188006,A000102948,A3区一米阳光婚纱摄影是否合法纳税了？,2019-02-28T11:25:05,\"座落在A市A3区联丰路，\n一家影楼\",3,1\n"
    "188007,A00074795,咨询A6区道路命名规划,2019-02-14T20:00:00,A市A6区道路命名规划已经公示,0,0\n"
)
REPLIES = (
    "id,user,title,created_at,body,reply,replied_at,category\n"
    "2549,A00045581,A2区景蓉华苑物业管理有问题,2019-04-25T09:32:09,物业扬言要退出小区,已转物业公司,2019-05-10T14:56:53,城乡建设\n"
)


def load(db, text: str, source: str = "hot", **kwargs):
    with db.write() as session:
        return import_messages(session, io.StringIO(text), source, NOW, SHANGHAI, **kwargs)


def petitions(db) -> dict[str, Petition]:
    with db.read() as session:
        return {p.source_id: p for p in session.scalars(select(Petition))}


def test_rows_round_trip_as_closed_petitions(db):
    report = load(db, HOT)
    assert (report.read, report.added, report.skipped) == (2, 2, 0)
    rows = petitions(db)
    first = rows["188006"]
    assert first.title == "A3区一米阳光婚纱摄影是否合法纳税了？"
    assert first.body == "座落在A市A3区联丰路，\n一家影楼"
    assert first.created_at == datetime(2019, 2, 28, 3, 25, 5, tzinfo=timezone.utc)  # 11:25 in Shanghai
    assert (first.petitioner_ref, first.likes, first.dislikes) == ("A000102948", 3, 1)
    assert (first.status, first.public_status) == (PetitionStatus.CLOSED, PublicStatus.CLOSED)
    assert first.instance_id is None and first.import_source == "hot"
    assert first.closed_at == first.created_at and first.reply is None
    assert rows["188007"].tracking_no != first.tracking_no


def test_reply_columns_and_unknown_columns_are_kept(db):
    load(db, REPLIES, source="replies")
    row = petitions(db)["2549"]
    assert row.reply == "已转物业公司"
    assert row.replied_at == row.closed_at == datetime(2019, 5, 10, 6, 56, 53, tzinfo=timezone.utc)
    assert row.likes is None and row.extra == {"category": "城乡建设"}


def test_importing_again_adds_nothing_and_other_sources_are_separate(db):
    load(db, HOT, batch_size=1)
    again = load(db, HOT + "188008,A1,新的一条,2019-03-01T08:00:00,正文,0,0\n", batch_size=1)
    assert (again.read, again.added, again.skipped) == (3, 1, 2)
    other = load(db, HOT, source="other")
    assert other.added == 2
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Petition)) == 5


def test_a_row_repeated_in_the_file_is_imported_once(db):
    report = load(db, HOT + HOT.split("\n", 1)[1])
    assert (report.read, report.added, report.skipped) == (4, 2, 2)


@pytest.mark.parametrize("text, row, column", [
    ("id,title,body\n1,t,b\n", 1, "created_at"),
    (HOT.replace("2019-02-14T20:00:00", "yesterday"), 3, "created_at"),  # rows are records, not lines
    (HOT.replace(",0,0\n", ",many,0\n"), 3, "likes"),
    (HOT.replace("188007,", ","), 3, "id"),
    (HOT + "9,u,,2019-01-01T00:00:00,,0,0\n", 4, "title"),
    (HOT + "9,u,t,2019-01-01T00:00:00\n", 4, None),
], ids=["missing column", "bad date", "bad count", "empty id", "empty text", "short row"])
def test_malformed_files_name_row_and_column_and_write_nothing(db, text, row, column):
    with pytest.raises(MalformedCsv) as caught:
        load(db, text)
    assert (caught.value.row, caught.value.column) == (row, column)
    assert f"row {row}" in str(caught.value)
    assert petitions(db) == {}
