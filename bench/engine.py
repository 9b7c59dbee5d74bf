"""Benchmark: the engine (state-only + projections) against a full-serialization SpiffWorkflow baseline.

Both sides run N instances of `four_tasks` (four user tasks, a non-interrupting boundary
timer) on their own SQLite file database with identical pragmas, one transaction per task
completion (load -> run -> save), interleaved instance by instance in one process:

  (a) the engine as built, through its public API only;
  (b) SpiffWorkflow used directly, storing `serialize_json` (spec included) per step in a
      one-table schema (id, state, revision) with a compare-and-set UPDATE; no projections.

Run from the project root: .venv/bin/python bench/engine.py [--quick | --instances N] [--json] [--profile PATH]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from statistics import fmean
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # before bench/ (sys.path[0]), where `engine` would be this very file

from sqlalchemy import Column, Integer, MetaData, Table, Text, select, update  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

import migrations  # noqa: E402
from engine import Database, Definitions, Engine, HumanTask, InstanceStatus, ScriptRegistry, TaskStatus  # noqa: E402
from engine.connections import create_db_engine  # noqa: E402

BPMN = ROOT / "tests" / "engine" / "data" / "four_tasks.bpmn"
PROCESS = "four_tasks"
START_DATA = {"department": "D01"}
TASK_DATA = {"approved": True, "comment": "looks good"}
ACTOR = "bench"
WARMUP = 5
TARGETS = {"ratio": 1.5, "bytes_ratio": 0.5, "throughput_a": 800.0}


@dataclass
class Sample:
    """Completion step latencies (seconds) and stored state sizes (bytes) of one side."""

    steps: list[float] = field(default_factory=list)
    bytes_start: list[int] = field(default_factory=list)
    bytes_end: list[int] = field(default_factory=list)

    def add(self, steps: list[float], start: int, end: int) -> None:
        self.steps.extend(steps)
        self.bytes_start.append(start)
        self.bytes_end.append(end)


def timed(step: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = step()
    return time.perf_counter() - began, result


class Ours:
    """Side (a): the engine's public API, one `db.write()` transaction per step."""

    def __init__(self, url: str):
        sa_engine = create_db_engine(url)
        migrations.upgrade(sa_engine)
        sa_engine.dispose()
        self.db = Database.from_url(url)
        self.engine = Engine(Definitions(), ScriptRegistry())
        with self.db.write() as session:
            self.engine.definitions.deploy(session, [(BPMN.name, BPMN.read_bytes())], actor=ACTOR)

    def run_instance(self) -> tuple[list[float], int, int]:
        with self.db.write() as session:
            instance = self.engine.start(session, PROCESS, START_DATA, ACTOR)
            instance_id, start_bytes = instance.id, len(instance.state.encode())
        steps = []
        for _ in range(4):
            elapsed, instance = timed(lambda: self._complete_next(instance_id))
            steps.append(elapsed)
        assert instance.status is InstanceStatus.COMPLETED, instance.status
        return steps, start_bytes, len(instance.state.encode())

    def _complete_next(self, instance_id: int):
        with self.db.write() as session:
            task_id = session.scalars(
                select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
            ).one()
            return self.engine.complete_task(session, task_id, TASK_DATA, ACTOR)


class Baseline:
    """Side (b): SpiffWorkflow with its stock full serialization, one row per instance."""

    def __init__(self, url: str):
        self.db = Database(create_db_engine(url))
        self.table = Table("instance", MetaData(), Column("id", Integer, primary_key=True),
                           Column("state", Text, nullable=False), Column("revision", Integer, nullable=False))
        self.table.metadata.create_all(self.db.engine)
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec, self.subprocess_specs = parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def run_instance(self) -> tuple[list[float], int, int]:
        instance_id, start_bytes = self._start()
        steps, completed, end_bytes = [], False, 0
        for _ in range(4):
            elapsed, (completed, end_bytes) = timed(lambda: self._complete_next(instance_id))
            steps.append(elapsed)
        assert completed, "baseline instance did not complete"
        return steps, start_bytes, end_bytes

    def _start(self) -> tuple[int, int]:
        with self.db.write() as session:
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs)  # default PythonScriptEngine
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(START_DATA)
            workflow.do_engine_steps()
            state = self.serializer.serialize_json(workflow)
            result = session.execute(self.table.insert().values(state=state, revision=1))
            return result.inserted_primary_key[0], len(state.encode())

    def _complete_next(self, instance_id: int) -> tuple[bool, int]:
        t = self.table
        with self.db.write() as session:
            row = session.execute(select(t.c.state, t.c.revision).where(t.c.id == instance_id)).one()
            workflow = self.serializer.deserialize_json(row.state)
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.data.update(TASK_DATA)
            task.run()
            workflow.do_engine_steps()
            state = self.serializer.serialize_json(workflow)
            result = session.execute(
                update(t).where(t.c.id == instance_id, t.c.revision == row.revision).values(state=state, revision=row.revision + 1)
            )
            if result.rowcount != 1:
                raise RuntimeError(f"baseline instance {instance_id}: stale revision {row.revision}")
            return workflow.is_completed(), len(state.encode())


def pin_to_one_core() -> str:
    try:
        os.sched_setaffinity(0, {0})
        return "pinned to CPU 0"
    except (AttributeError, OSError) as exc:
        return f"not pinned ({exc.__class__.__name__})"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def run(n: int, workdir: str) -> dict[str, Any]:
    """Warm up both sides, then run n instances each, alternating which side goes first."""
    ours, base = Ours(f"sqlite:///{workdir}/ours.sqlite3"), Baseline(f"sqlite:///{workdir}/baseline.sqlite3")
    for side in [ours, base] * WARMUP:
        side.run_instance()
    a, b = Sample(), Sample()
    for i in range(n):
        pairs = [(ours, a), (base, b)] if i % 2 == 0 else [(base, b), (ours, a)]
        for side, sample in pairs:
            sample.add(*side.run_instance())
    for side in (ours, base):
        side.db.dispose()
    return figures(n, a, b)


def figures(n: int, a: Sample, b: Sample) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "completions": len(a.steps)}
    for name, s in (("a", a), ("b", b)):
        out[f"throughput_{name}"] = len(s.steps) / sum(s.steps)
        out[f"p50_ms_{name}"] = percentile(s.steps, 50) * 1000
        out[f"p99_ms_{name}"] = percentile(s.steps, 99) * 1000
        out[f"bytes_{name}_start"] = fmean(s.bytes_start)
        out[f"bytes_{name}_end"] = fmean(s.bytes_end)
    out["ratio"] = out["throughput_a"] / out["throughput_b"]
    out["bytes_ratio_start"] = out["bytes_a_start"] / out["bytes_b_start"]
    out["bytes_ratio_end"] = out["bytes_a_end"] / out["bytes_b_end"]
    out["bytes_ratio"] = max(out["bytes_ratio_start"], out["bytes_ratio_end"])  # the worse of the two
    out["target_ratio_met"] = out["ratio"] >= TARGETS["ratio"]
    out["target_bytes_met"] = out["bytes_ratio"] <= TARGETS["bytes_ratio"]
    out["target_throughput_met"] = out["throughput_a"] >= TARGETS["throughput_a"]
    out["targets_met"] = out["target_ratio_met"] and out["target_bytes_met"] and out["target_throughput_met"]
    return out


def print_table(f: dict[str, Any]) -> None:
    rows = [
        ("task completions/s", "throughput_a", "throughput_b", "{:.0f}"),
        ("p50 per completion (ms)", "p50_ms_a", "p50_ms_b", "{:.2f}"),
        ("p99 per completion (ms)", "p99_ms_a", "p99_ms_b", "{:.2f}"),
        ("state bytes/instance after start", "bytes_a_start", "bytes_b_start", "{:.0f}"),
        ("state bytes/instance at end", "bytes_a_end", "bytes_b_end", "{:.0f}"),
    ]
    print(f"\n{f['n']} instances, {f['completions']} task completions per side\n")
    print(f"{'':34} {'(a) engine':>12} {'(b) baseline':>13}")
    for label, ka, kb, fmt in rows:
        print(f"{label:34} {fmt.format(f[ka]):>12} {fmt.format(f[kb]):>13}")
    yes = {True: "met", False: "NOT met"}
    print(f"\nthroughput a/b  {f['ratio']:.2f}x   (target >= {TARGETS['ratio']}x: {yes[f['target_ratio_met']]})")
    print(f"bytes a/b       {f['bytes_ratio_start']:.3f} after start, {f['bytes_ratio_end']:.3f} at end"
          f"   (target <= {TARGETS['bytes_ratio']} for both: {yes[f['target_bytes_met']]})")
    print(f"throughput a    {f['throughput_a']:.0f}/s   (target >= {TARGETS['throughput_a']:.0f}/s: "
          f"{yes[f['target_throughput_met']]})")


def profile_ours(n: int, workdir: str, path: str) -> None:
    """Run n instances of side (a) alone under cProfile (separately, so the figures above stay clean)."""
    ours = Ours(f"sqlite:///{workdir}/profiled.sqlite3")
    for _ in range(WARMUP):
        ours.run_instance()
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [ours.run_instance() for _ in range(n)])
    ours.db.dispose()
    profiler.dump_stats(path)
    print(f"\nprofile of (a), {n} instances (starts included), written to {path}; top 25 by cumulative time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 instances instead of 500")
    parser.add_argument("--instances", type=int, help="number of measured instances per side")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    parser.add_argument("--profile", metavar="PATH", help="also profile side (a) and write pstats to PATH")
    args = parser.parse_args(argv)
    n = args.instances or (50 if args.quick else 500)

    print(f"CPU: {pin_to_one_core()}; SQLite file databases, WAL, synchronous=NORMAL (engine.db pragmas)")
    print("(a) engine: state-only JSON + projections (human_task, timer, instance_event), sandboxed script engine")
    print("(b) baseline: SpiffWorkflow serialize_json (spec included), one table, no projections,"
          " default PythonScriptEngine")
    print("timed: each completion transaction end to end (BEGIN IMMEDIATE ... COMMIT); starts not timed;"
          f" {WARMUP} warm-up instances per side not measured")
    print("bytes: utf-8 length of the stored state column only; (a)'s projection and event rows are not counted")
    with tempfile.TemporaryDirectory(prefix="minyi-bench-") as workdir:
        results = run(n, workdir)
        print_table(results)
        if args.profile:
            profile_ours(n, workdir, args.profile)
    if args.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
