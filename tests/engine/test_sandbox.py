"""The script sandbox: legitimate scripts behave as under Spiff's TaskDataEnvironment, and
known Python sandbox escapes, resource bombs and runaway loops end as ScriptError."""

from __future__ import annotations

import sys
import threading
import time
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from tests.engine.sandbox_payloads import PAYLOADS
from engine.errors import DuplicateRegistration, ScriptError
from engine.scripting import SandboxedEnvironment, ScriptRegistry, create_script_engine

LIMIT = 0.2
SANDBOX_NAMES = {"__builtins__", "_getattr_", "_getitem_", "_write_", "datetime", "date", "timedelta",
                 "timezone", "Decimal", "double"}


def double(value):
    return 2 * value


@pytest.fixture
def env() -> SandboxedEnvironment:
    return SandboxedEnvironment({"double": double}, time_limit=LIMIT)


# Legitimate scripts


def test_assignments_land_in_task_data(env):
    context = {"amount": 120}
    assert env.execute("fee = amount * 2\nlabel = f'fee {fee}'\nflag = fee > 200", context) is True
    assert context == {"amount": 120, "fee": 240, "label": "fee 240", "flag": True}


@pytest.mark.parametrize(("expression", "expected"), [
    ("amount > 100 and status == 'open'", True),
    ("amount * 3 + 1", 361),
    ("2 ** 10 - (1 << 4)", 1008),
    ("'ab' * 3", "ababab"),
    ("[0] * 3", [0, 0, 0]),
    ("sorted(tags, reverse=True)[0]", "b"),
    ("sum(x * x for x in range(4))", 14),
    ("max(len(t) for t in tags) if tags else 0", 1),
    ("'PT1H'", "PT1H"),
    ("round(2.675, 1)", 2.7),
])
def test_expressions_evaluate(env, expression, expected):
    assert env.evaluate(expression, {"amount": 120, "status": "open", "tags": ["a", "b"]}) == expected


def test_datetime_timedelta_and_decimal_arithmetic(env):
    context = {"opened": datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc), "price": "19.99"}
    env.execute(
        "due = opened + timedelta(days=15)\n"
        "overdue = due < datetime(2024, 3, 20, tzinfo=timezone.utc)\n"
        "day = date(2024, 3, 1) + timedelta(weeks=1)\n"
        "total = Decimal(price) * 3 + Decimal('0.03')\n"
        "exact = isinstance(total, Decimal) and total == Decimal('60.00')\n"
        "ratio = Decimal(1) / Decimal(3)\n"
        "half = Decimal.from_float(0.5)\n",
        context,
    )
    assert context["due"] == datetime(2024, 3, 16, 9, 0, tzinfo=timezone.utc)
    assert context["overdue"] is True
    assert context["day"] == date(2024, 3, 8)
    assert context["total"] == Decimal("60.00") and context["exact"] is True
    assert context["ratio"] == Decimal("0.3333333333333333333333333333")
    assert context["half"] == Decimal("0.5") and type(context["half"]) is Decimal


def test_dict_list_set_mutation_and_comprehensions(env):
    context = {"petition": {"votes": 2, "tags": ["a"]}, "seen": [1, 2]}
    env.execute(
        "petition['votes'] += 1\n"
        "petition['tags'].append('b')\n"
        "petition['owner'] = 'desk'\n"
        "del petition['tags'][0]\n"
        "seen.extend([3, 4])\n"
        "seen[0] = 10\n"
        "unique = set(seen)\n"
        "unique.add(99)\n"
        "squares = {n: n * n for n in seen if n % 2 == 0}\n"
        "pairs = [(i, n) for i, n in enumerate(seen)]\n"
        "first, *rest = seen\n"
        "total = 0\n"
        "for i, n in pairs:\n"
        "    total += i * n\n",
        context,
    )
    assert context["petition"] == {"votes": 3, "tags": ["b"], "owner": "desk"}
    assert context["seen"] == [10, 2, 3, 4]
    assert context["unique"] == {10, 2, 3, 4, 99}
    assert context["squares"] == {10: 100, 2: 4, 4: 16}
    assert context["first"] == 10 and context["rest"] == [2, 3, 4]
    assert context["total"] == 0 * 10 + 1 * 2 + 2 * 3 + 3 * 4


def test_registered_functions_callable_and_not_left_in_task_data(env):
    context = {"n": 21}
    env.execute("answer = double(n)\nalias = double", context)
    assert context == {"n": 21, "answer": 42}
    assert env.evaluate("double(n) == 42", context) is True


def test_script_functions_generators_and_helpers_not_left_in_task_data(env):
    context = {"values": [3, 1, 2]}
    env.execute(
        "def biggest(items):\n"
        "    return max(items)\n"
        "top = biggest(values)\n"
        "key = lambda v: -v\n"
        "ordered = sorted(values, key=key)\n"
        "lazy = (v for v in values)\n"
        "mapped = map(double, values)\n"
        "now = datetime\n",
        context,
    )
    assert context == {"values": [3, 1, 2], "top": 3, "ordered": [3, 2, 1]}


def test_deleted_variables_leave_task_data(env):
    context = {"keep": 1, "drop": 2}
    env.execute("del drop", context)
    assert context == {"keep": 1}


def test_data_objects_are_readable_but_not_written_into_task_data(env):
    context = {"amount": 5}
    assert env.evaluate("amount < limit", context, {"limit": 10}) is True
    env.execute("over = amount > limit", context, {"limit": 10})
    assert context == {"amount": 5, "over": False}
    with pytest.raises(ScriptError, match="limit"):
        env.execute("x = 1", {"limit": 3}, {"limit": 10})


@pytest.mark.parametrize("name", ["double", "date", "Decimal", "_getattr_"])
def test_task_data_shadowing_a_sandbox_name_fails_fast(env, name):
    context = {name: "2024-01-01", "other": 1}
    with pytest.raises(ScriptError, match=name):
        env.execute("x = 1", context)
    with pytest.raises(ScriptError, match=name):
        env.evaluate("other == 1", context)
    assert context == {name: "2024-01-01", "other": 1}


def test_registry_refuses_duplicates_and_reserved_names():
    registry = ScriptRegistry()
    registry.register("double", double)
    with pytest.raises(DuplicateRegistration) as caught:
        registry.register("double", lambda v: v)
    assert caught.value.name == "double"
    for taken in ("len", "datetime", "Decimal", "range"):
        with pytest.raises(DuplicateRegistration):
            registry.register(taken, double)
    for bad in ("_private", "__import__", "not a name"):
        with pytest.raises(ValueError):
            registry.register(bad, double)
    functions = registry.functions()
    assert dict(functions) == {"double": double}
    with pytest.raises(TypeError):
        functions["other"] = double  # type: ignore[index]


def test_environment_refuses_unsafe_function_names():
    with pytest.raises(ValueError):
        SandboxedEnvironment({"_hidden": double})
    with pytest.raises(DuplicateRegistration):
        SandboxedEnvironment({"sorted": double})


@pytest.mark.parametrize(("script", "line", "kind"), [
    ("a = 1\nb = 2\nc = a / 0", 3, "ZeroDivisionError"),
    ("a = 1\nb = missing + 1", 2, "NameError"),
    ("d = {}\nx = 1\ny = d['nope']", 3, "KeyError"),
    ("def f(v):\n    return v[5]\n\nf([1])", 2, "IndexError"),
    ("x = 1\nif x:\n  y = (", 3, "SyntaxError"),
    ("x = 1\nraise ValueError('bad petition')", 2, "bad petition"),
])
def test_script_failures_become_script_errors_with_line(env, script, line, kind):
    with pytest.raises(ScriptError, match=kind) as caught:
        env.execute(script, {})
    assert caught.value.line == line


def test_failed_script_keeps_only_what_it_assigned(env):
    context = {"before": 1}
    with pytest.raises(ScriptError):
        env.execute("partial = before + 1\nboom = 1 / 0\nnever = 3", context)
    assert context == {"before": 1, "partial": 2}


def test_scripts_may_handle_their_own_errors(env):
    context = {}
    env.execute(
        "try:\n"
        "    x = 1 / 0\n"
        "except (ZeroDivisionError, KeyError) as err:\n"
        "    x = -1\n"
        "try:\n"
        "    y = 10 ** 10 ** 10\n"
        "except Exception:\n"
        "    y = 0\n",
        context,
    )
    assert context == {"x": -1, "y": 0}


def test_expressions_are_compiled_once(env):
    """Conditions run all the time: the second evaluation reuses the compiled code."""
    from engine.scripting import _compile

    context = {"amount": 250, "status": "open", "tags": ["a"]}
    expression = "amount > 100 and status == 'open' and 'compiled-once-marker' != ''"
    assert env.evaluate(expression, context) is True
    before = _compile.cache_info()
    assert env.evaluate(expression, {**context, "amount": 50}) is False
    after = _compile.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_validate_parses_each_expression_once_and_still_refuses_bad_syntax():
    """The DMN engine validates its rule expressions on every evaluation; a SyntaxError is how
    it tells a comparison ('> 5') from a value ('5'), so it must come back every time."""
    from engine.scripting import _syntax_error

    engine = create_script_engine(ScriptRegistry())
    engine.validate("'validate-once-marker'")
    before = _syntax_error.cache_info()
    engine.validate("'validate-once-marker'")
    assert _syntax_error.cache_info().hits == before.hits + 1
    for _ in range(2):
        with pytest.raises(SyntaxError):
            engine.validate("> 'validate-once-marker'")


def test_evaluate_refuses_to_hand_back_script_code(env):
    for expression in ("(v for v in items)", "lambda: 1", "map(double, items)"):
        with pytest.raises(ScriptError):
            env.evaluate(expression, {"items": [1]})


def test_call_service_is_not_configured(env):
    with pytest.raises(ScriptError, match="service tasks are not configured"):
        env.call_service({}, operation_name="x")


@settings(max_examples=300, deadline=None)
@given(
    left=st.integers(-10**6, 10**6),
    right=st.integers(-3, 60),
    op=st.sampled_from(["*", "**", "<<", "+", "-", "//", "%", ">>"]),
)
def test_guarded_operators_agree_with_python(left, right, op):
    sandbox = SandboxedEnvironment({}, time_limit=1.0)
    expression = f"({left}) {op} ({right})"
    try:
        expected = eval(expression)
    except (ZeroDivisionError, ValueError):
        with pytest.raises(ScriptError):
            sandbox.evaluate(expression, {})
        return
    assert sandbox.evaluate(expression, {}) == expected
    context = {"x": left}
    sandbox.execute(f"x {op}= {right}", context)
    assert context["x"] == expected


def _bounded(call) -> dict:
    """Run call in a daemon thread, so a sandbox that fails to stop a script fails the test
    instead of hanging the suite; report what it raised and whether its tracer came back."""
    outcome: dict = {}

    def target() -> None:
        tracer = sys.gettrace()
        try:
            call()
        except BaseException as err:  # the assertions below decide what was acceptable
            outcome["error"] = err
        outcome["tracer_restored"] = sys.gettrace() is tracer

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout=20 * LIMIT)
    assert not worker.is_alive(), "the sandbox did not stop the script"
    return outcome


@pytest.mark.parametrize(("script", "is_expression"), PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_is_refused_and_sandbox_survives(env, script, is_expression):
    context = {"seed": 1}
    calls = [lambda: env.execute(script, context)]
    if is_expression:
        calls.append(lambda: env.evaluate(script, context))
    for call in calls:
        outcome = _bounded(call)
        assert isinstance(outcome.get("error"), ScriptError), outcome.get("error")
        assert outcome["tracer_restored"]
    assert not SANDBOX_NAMES & set(context) and not any(name.startswith("_") for name in context)
    env.execute("seed = seed + 1\nok = double(seed)", context)
    assert context["ok"] == 4


def test_time_limit_reports_itself_with_line(env):
    outcome = _bounded(lambda: env.execute("x = 1\nwhile True:\n  try:\n    x += 1\n  except Exception:\n    pass", {}))
    error = outcome["error"]
    assert isinstance(error, ScriptError) and "time limit" in str(error)
    assert error.line in (2, 3, 4)


def test_time_limit_works_in_a_worker_thread(env):
    outcome: dict[str, BaseException] = {}
    main_tracer = sys.gettrace()

    def work() -> None:
        try:
            env.execute("while True:\n    pass", {})
        except ScriptError as err:
            outcome["error"] = err

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=20 * LIMIT)
    assert not worker.is_alive()
    assert "time limit" in str(outcome["error"])
    assert sys.gettrace() is main_tracer


def test_time_spent_waiting_does_not_count_against_the_limit():
    """The limit is the script's CPU time: a host function that waits (as a thread of a busy
    server waits for its turn to run) past the limit on the wall clock does not stop the script."""
    sandbox = SandboxedEnvironment({"wait": lambda: time.sleep(1.5 * LIMIT) or 1}, time_limit=LIMIT)
    context: dict = {}
    sandbox.execute("waited = wait()\nafter = waited + 1", context)
    assert context == {"waited": 1, "after": 2}


def test_previous_tracer_is_restored_even_after_a_timeout(env):
    def outer_tracer(frame, event, arg):
        return None

    seen = []

    def call() -> None:
        sys.settrace(outer_tracer)
        try:
            with pytest.raises(ScriptError):
                env.execute("while True: pass", {})
            seen.extend([sys.gettrace(), env.evaluate("1 + 1", {}), sys.gettrace()])
        finally:
            sys.settrace(None)

    outcome = _bounded(call)
    assert "error" not in outcome, outcome.get("error")
    assert seen == [outer_tracer, 2, outer_tracer]


TRIAGE_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
                  targetNamespace="http://example.org/bpmn">
  <bpmn:process id="triage" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="score">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>score = double(priority) + len(tags)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="low">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>high</bpmn:outgoing><bpmn:outgoing>low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="urgent"><bpmn:incoming>high</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="routine"><bpmn:incoming>low</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score"/>
    <bpmn:sequenceFlow id="f2" sourceRef="score" targetRef="gw"/>
    <bpmn:sequenceFlow id="high" sourceRef="gw" targetRef="urgent">
      <bpmn:conditionExpression>score &gt; 5</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="low" sourceRef="gw" targetRef="routine"/>
  </bpmn:process>
</bpmn:definitions>"""


def _run_triage(data: dict) -> BpmnWorkflow:
    parser = BpmnParser()
    parser.add_bpmn_str(TRIAGE_BPMN)
    registry = ScriptRegistry()
    registry.register("double", double)
    workflow = BpmnWorkflow(parser.get_spec("triage"), script_engine=create_script_engine(registry, LIMIT))
    workflow.get_next_task(state=TaskState.READY).data.update(data)
    workflow.do_engine_steps()
    return workflow


@pytest.mark.parametrize(("priority", "end"), [(3, "urgent"), (1, "routine")])
def test_spiff_runs_scripts_and_conditions_through_the_sandbox(priority, end):
    workflow = _run_triage({"priority": priority, "tags": ["a"]})
    assert workflow.is_completed()
    assert workflow.data["score"] == 2 * priority + 1
    assert end in [task.task_spec.bpmn_id for task in workflow.get_tasks(state=TaskState.COMPLETED)]


def test_spiff_reports_a_failing_script_as_a_workflow_error():
    with pytest.raises(WorkflowException, match="TypeError") as caught:
        _run_triage({"priority": 1, "tags": None})
    assert isinstance(caught.value.__context__, ScriptError)
