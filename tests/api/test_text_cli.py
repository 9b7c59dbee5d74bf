"""`minyi import messages` and `minyi hotspots` against the real app and database."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from workflows.models import Petition

CSV = (
    "id,user,title,created_at,body,likes,dislikes\n"
    "1,u1,A2区景蓉华苑停车难,2019-04-25T09:32:09,景蓉华苑小区停车位不足,5,0\n"
    "2,u2,咨询公积金贷款,2019-04-26T10:00:00,公积金贷款额度是多少,0,0\n"
)


def test_import_messages_twice_adds_once(runner, db, tmp_path):
    path = tmp_path / "hot.csv"
    path.write_text(CSV, encoding="utf-8")
    first = runner.invoke(args=["import", "messages", str(path)])
    assert first.exit_code == 0, first.output
    assert "hot: 2 petitions imported, 0 already there" in first.output
    second = runner.invoke(args=["import", "messages", str(path)])
    assert "0 petitions imported, 2 already there" in second.output
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Petition).where(Petition.import_source == "hot")) == 2


def test_import_of_a_malformed_file_fails_with_the_cell(runner, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV.replace("2019-04-26T10:00:00", "26/04/2019"), encoding="utf-8")
    result = runner.invoke(args=["import", "messages", str(path), "--source", "x"])
    assert result.exit_code == 1
    assert "row 3, column created_at" in result.output


def test_hotspots_prints_the_topics_and_json(runner, db, tmp_path):
    from tests.workflows.text.crafted import as_csv, corpus

    docs, _ = corpus()
    path = tmp_path / "crafted.csv"
    path.write_text(as_csv(docs), encoding="utf-8")
    assert runner.invoke(args=["import", "messages", str(path)]).exit_code == 0
    result = runner.invoke(args=["hotspots", "--from", "2026-08-01", "--to", "2026-09-30", "--limit", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2 topics, 2026-08-01 to 2026-09-30"
    assert lines[1].startswith(" 1. A2区丽发新城小区：搅拌站") and "8 petitions, 8 petitioners" in lines[1]
    assert any(line.startswith("    #") and "丽发新城" in line for line in lines)
    as_json = runner.invoke(args=["hotspots", "--from", "2026-08-01", "--to", "2026-09-30", "--json"])
    data = json.loads(as_json.output)
    assert [t["petitions"] for t in data["topics"]] == [8, 6, 5]
    assert data["topics"][0]["representatives"][0]["created_at"].startswith("2026-09")


def test_hotspots_refuses_a_reversed_period(runner):
    result = runner.invoke(args=["hotspots", "--from", "2026-09-30", "--to", "2026-09-01"])
    assert result.exit_code == 2 and "must not be after --to" in result.output
