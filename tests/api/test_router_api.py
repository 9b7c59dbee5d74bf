"""The triage suggestion in the dispatcher's task, `minyi router` and retraining from triage."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.api.drive import Desk
from tests.workflows.text.labelled import EXAMPLES, SCHEME_CSV, UNSEEN, as_csv
from workflows.models import RoutingRule
from workflows.text.classifier import Labelled, fit, score
from workflows.text.retraining import confirmed_examples, run_router_retrain
from workflows.text.router import Trained, store
from workflows.text.router_models import RouterModel, TriageSuggestion

LONG_AGO = datetime(2026, 1, 5, tzinfo=timezone.utc)
ROUTES = {"城乡建设": "D01", "环境保护": "D02", "交通运输": "D03"}
BUILDING, POLLUTION, TRANSPORT = UNSEEN


@pytest.fixture
def app(database_url, db, request):
    """The app, with the suggestion threshold of the test's `app` parameter (default 0.5)."""
    from api import create_app

    application = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "TESTING": True,
                              "ROUTER_MIN_CONFIDENCE": getattr(request, "param", 0.5)})
    yield application
    application.extensions["minyi"].db.dispose()


@pytest.fixture(scope="module")
def pipeline():
    return fit(EXAMPLES)


@pytest.fixture
def routed(db, reference_data):
    with db.write() as session:
        session.add_all(RoutingRule(category=c, department_code=d) for c, d in ROUTES.items())


@pytest.fixture
def model(db, routed, pipeline) -> int:
    """The written set's model, stored and active (trained once for the module)."""
    with db.write() as session:
        return store(session, Trained(pipeline, score(["a"], ["a"]), "labelled.csv", 36, sorted(ROUTES)), LONG_AGO).version


@pytest.fixture
def desk(client, as_staff):
    return Desk(client, as_staff)


def triage_task(desk: Desk, tracking_no: str) -> dict:
    task = desk.task("dispatcher", tracking_no, "triage_petition")
    response = desk.client.get(f"/api/v1/tasks/{task['id']}", headers=desk.headers("dispatcher"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_dispatcher_sees_the_suggested_category_department_and_alternatives(desk, model, db):
    title, body, _ = POLLUTION
    citizen = desk.submit(title=title, body=body)
    suggestion = triage_task(desk, citizen.tracking_no)["suggestion"]
    assert suggestion["model_version"] == model and suggestion["threshold"] == 0.5
    suggested = suggestion["suggested"]
    assert (suggested["category"], suggested["department"]) == ("环境保护", "D02") and suggested["confidence"] >= 0.5
    alternatives = suggestion["alternatives"]
    assert sorted(a["category"] for a in alternatives) == ["交通运输", "城乡建设"]
    assert [a["department"] for a in alternatives] == [ROUTES[a["category"]] for a in alternatives]
    assert suggested["confidence"] >= alternatives[0]["confidence"] >= alternatives[1]["confidence"]
    desk.dispatch(citizen, "D02", sign=False)
    sign = desk.task("handler:D02", citizen.tracking_no, "sign_for")
    detail = desk.client.get(f"/api/v1/tasks/{sign['id']}", headers=desk.headers("handler:D02")).get_json()
    assert detail["suggestion"] is None  # only triage tasks carry it
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TriageSuggestion)) == 1


@pytest.mark.parametrize("app", [0.99], indirect=True)
def test_below_the_threshold_nothing_is_suggested_but_the_best_show_as_alternatives(desk, model):
    title, body, _ = POLLUTION
    suggestion = triage_task(desk, desk.submit(title=title, body=body).tracking_no)["suggestion"]
    assert suggestion["threshold"] == 0.99 and suggestion["suggested"] is None
    assert [a["category"] for a in suggestion["alternatives"]][0] == "环境保护"
    assert len(suggestion["alternatives"]) == 3


def test_without_a_model_there_is_no_suggestion_and_no_error(desk, routed, db):
    citizen = desk.submit()
    assert triage_task(desk, citizen.tracking_no)["suggestion"] is None
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TriageSuggestion)) == 0


def test_router_train_then_evaluate_as_text_and_json(runner, db, tmp_path):
    training, other = tmp_path / "labelled.csv", tmp_path / "other.csv"
    training.write_text(as_csv(), encoding="utf-8")
    other.write_text(as_csv([Labelled(t, b, c) for t, b, c in UNSEEN]), encoding="utf-8")
    trained = runner.invoke(args=["router", "train", str(training)])
    assert trained.exit_code == 0, trained.output
    lines = trained.output.splitlines()
    assert lines[0] == "model v1 trained on 36 petitions, 3 categories; active"
    assert lines[1].startswith("5-fold cross-validation on 36 petitions: accuracy ")
    assert [line.split()[0] for line in lines[3:]] == ["交通运输", "城乡建设", "环境保护"]
    with db.read() as session:
        stored = session.scalars(select(RouterModel)).one()
    assert (stored.source, stored.rows, stored.active, stored.metrics["folds"]) == ("labelled.csv", 36, True, 5)
    evaluated = runner.invoke(args=["router", "evaluate", str(other)])
    assert evaluated.exit_code == 0, evaluated.output
    assert evaluated.output.splitlines()[:2] == ["model v1 on other.csv",
                                                 "scored on 3 petitions: accuracy 1.000, macro-F1 1.000"]
    as_json = json.loads(runner.invoke(args=["router", "evaluate", str(other), "--json"]).output)
    assert (as_json["model_version"], as_json["rows"], as_json["accuracy"], as_json["folds"]) == (1, 3, 1.0, None)
    assert [c["support"] for c in as_json["per_category"]] == [1, 1, 1]


def test_router_train_with_a_scheme_records_it(runner, db, tmp_path):
    training, scheme = tmp_path / "labelled.csv", tmp_path / "scheme.csv"
    training.write_text(as_csv(), encoding="utf-8")
    scheme.write_text(SCHEME_CSV, encoding="utf-8")
    trained = runner.invoke(args=["router", "train", str(training), "--scheme", str(scheme)])
    assert trained.exit_code == 0, trained.output
    with db.read() as session:
        assert session.scalars(select(RouterModel.source)).one() == "labelled.csv + scheme scheme.csv"
    scheme.write_text("level1,level3\n城乡建设,燃气供应\n", encoding="utf-8")
    refused = runner.invoke(args=["router", "train", str(training), "--scheme", str(scheme)])
    assert refused.exit_code == 1 and "missing column level2" in refused.output


@pytest.mark.parametrize("text, message", [
    ("title,category\n标题,城乡建设\n", "missing column body"),
    (as_csv(EXAMPLES[:15]), "too few: 环境保护 (3)"),
    (as_csv(EXAMPLES[:12]), "two categories at least are needed; found 城乡建设 (12)"),
])
def test_router_train_refuses_a_bad_csv(runner, db, tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["router", "train", str(path)])
    assert result.exit_code == 1 and message in result.output
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(RouterModel)) == 0


def test_router_evaluate_without_a_model_says_so(runner, db, tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text(as_csv(), encoding="utf-8")
    result = runner.invoke(args=["router", "evaluate", str(path)])
    assert result.exit_code == 1 and "no model is trained yet" in result.output


def test_dispatches_confirm_categories_and_retraining_learns_from_them(desk, model, db, runner, tmp_path):
    building = desk.submit(title=BUILDING[0], body=BUILDING[1])  # no category: the suggestion's, confirmed by D01
    pollution = desk.submit(title=POLLUTION[0], body=POLLUTION[1], category="环境保护")  # the citizen's, confirmed
    misrouted = desk.submit(title=TRANSPORT[0], body=TRANSPORT[1])  # D01 takes 住房 and 城乡建设: ambiguous
    desk.submit(title="还在分拨", body="尚未派单的诉求")
    for citizen, department in ((building, "D01"), (pollution, "D02"), (misrouted, "D01")):
        desk.dispatch(citizen, department, sign=False)
    with db.read() as session:
        assert confirmed_examples(session) == [Labelled(*BUILDING), Labelled(*POLLUTION)]
    path, scheme = tmp_path / "labelled.csv", tmp_path / "scheme.csv"
    path.write_text(as_csv(), encoding="utf-8")
    scheme.write_text(SCHEME_CSV, encoding="utf-8")
    result = runner.invoke(args=["router", "retrain", "--csv", str(path), "--scheme", str(scheme)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("trained on 38 petitions (2 confirmed at triage + labelled.csv + scheme scheme.csv), "
                                    "3 categories")


def test_the_weekly_job_retrains_once_when_enough_were_confirmed(desk, model, db, tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text(as_csv(), encoding="utf-8")
    for title, body, category in UNSEEN:
        desk.dispatch(desk.submit(title=title, body=body), ROUTES[category], sign=False)
    now, tz = datetime.now(timezone.utc), ZoneInfo("Asia/Shanghai")
    assert run_router_retrain(db, "w1", now, tz, path, min_new=4)  # ran, but 3 new are not enough
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(RouterModel)) == 1
    assert not run_router_retrain(db, "w2", now, tz, path, min_new=3)  # the week is claimed already
    next_week = datetime.fromtimestamp(now.timestamp() + 7 * 86400, timezone.utc)
    assert run_router_retrain(db, "w1", next_week, tz, path, min_new=3)
    with db.read() as session:
        newest = session.scalars(select(RouterModel).where(RouterModel.active.is_(True))).one()
    assert (newest.version, newest.rows, newest.source) == (model + 1, 39, "3 confirmed at triage + labelled.csv")
