"""The `minyi` command against the real app and database."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from api.cli import CHATTY_LOGGERS, configure_logging

from engine import ProcessVersion
from tests.conftest import ENGINE_DATA


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "newest schema" in result.output


def test_deploy_folder_then_again_is_unchanged(runner, db):
    first = runner.invoke(args=["deploy", str(ENGINE_DATA)])
    assert first.exit_code == 0, first.output
    assert "review_loop v1 deployed" in first.output and "parent_process v1 deployed" in first.output
    second = runner.invoke(args=["deploy", str(ENGINE_DATA)])
    assert "review_loop v1 unchanged" in second.output and "deployed" not in second.output
    with db.read() as session:
        keys = set(session.scalars(select(ProcessVersion.process_key)))
    assert {"review_loop", "four_tasks", "decide", "message_wait"} <= keys


def test_deploy_refusal_names_file_and_line(runner, db, tmp_path):
    bad = tmp_path / "broken.bpmn"
    bad.write_bytes((ENGINE_DATA / "parallel.bpmn").read_bytes().replace(b"<bpmn:process ", b"<bpmn:process bogus='1' "))
    result = runner.invoke(args=["deploy", str(bad)])
    assert result.exit_code == 1
    assert "broken.bpmn:" in result.output and "bogus" in result.output
    with db.read() as session:
        assert session.scalars(select(ProcessVersion)).first() is None


def test_deploy_of_a_folder_without_definitions_is_a_no_op(runner, tmp_path):
    result = runner.invoke(args=["deploy", str(tmp_path)])
    assert result.exit_code == 0 and "nothing to deploy" in result.output


def test_demo_seeds_petitions_once(runner, db):
    from pathlib import Path

    from workflows.models import Department, Petition

    bpmn = Path(__file__).resolve().parents[2] / "bpmn"
    assert runner.invoke(args=["deploy", str(bpmn)]).exit_code == 0
    result = runner.invoke(args=["demo", "--count", "12"])
    assert result.exit_code == 0, result.output
    assert "12 demo petitions" in result.output
    with db.read() as session:
        assert len(session.scalars(select(Petition)).all()) == 12
        assert session.get(Department, "ZJJ").name == "市住房和城乡建设局"
    again = runner.invoke(args=["demo", "--count", "12"])
    assert "not added" in again.output


def test_calendar_seed_reports_each_year(runner):
    result = runner.invoke(args=["calendar", "seed", "2026", "2027"])
    assert result.exit_code == 0
    assert "2026: official schedule" in result.output and "2027: statutory holidays only" in result.output


@pytest.mark.parametrize("level,engine_steps_logged", [("INFO", False), ("DEBUG", True)])
def test_serve_and_worker_log_the_engines_task_states_only_at_debug(app, level, engine_steps_logged):
    """`minyi serve` and `minyi worker` log at INFO; SpiffWorkflow would log every state change
    of every task there, some fifty lines per completed task."""
    app.config["LOG_LEVEL"] = level
    root, was = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.DEBUG)  # as basicConfig would, had pytest not configured logging already
    try:
        with app.app_context():
            configure_logging()
        assert logging.getLogger("spiff.task").isEnabledFor(logging.INFO) is engine_steps_logged
        assert logging.getLogger("engine.runtime").isEnabledFor(logging.INFO)  # Minyi's own still are
    finally:
        root.setLevel(was)
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
