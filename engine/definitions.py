"""Deploying BPMN/DMN files as versioned processes, and loading their parsed specs.

A process version is the set of files its spec is built from: the file defining the
process, those defining the processes it calls (recursively) and the DMN files of its
business-rule tasks. Its content hash covers exactly that set, so deploying unchanged files
is a no-op for the process, and changing any file it depends on makes its next version.
References missing from an upload are resolved against what was deployed before.

Parsed specs are cached per version id; they are never stored in instance rows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import BpmnValidator, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser

from .db import utcnow
from .errors import DefinitionError, DefinitionProblem, UnknownProcess
from .models import DefinitionFile, DefinitionSymbol, ProcessVersion
from .xmlsafe import DEFAULT_MAX_BYTES, DefinitionXml, element_id_at_line, parse_definition

MAX_KEY_LENGTH = 255  # process_version.process_key
SPIFF_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def _version_lookups(what: Any) -> tuple[Select, Select]:
    """`what` of a process's latest version (`:key`), and of its numbered one (`:key`, `:version`)."""
    of_key = ProcessVersion.process_key == bindparam("key")
    return (select(what).where(of_key).order_by(ProcessVersion.version.desc()).limit(1),
            select(what).where(of_key, ProcessVersion.version == bindparam("version")))


# Built once: starting an instance looks its version up every time.
_ROW_LOOKUPS = _version_lookups(ProcessVersion)
_ID_LOOKUPS = _version_lookups(ProcessVersion.id)


@dataclass(frozen=True)
class DeployedVersion:
    process_key: str
    version: int
    created: bool  # False when the content was already deployed as the latest version


@dataclass(frozen=True)
class ProcessSpecs:
    """A version's parsed top-level spec and the subprocess specs it calls."""

    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Definitions:
    """Deploys definition files and serves parsed specs from a per-version cache."""

    def __init__(self, max_file_bytes: int = DEFAULT_MAX_BYTES, cache_size: int = 256):
        self.max_file_bytes = max_file_bytes
        self._validator = BpmnValidator()
        self._cache: OrderedDict[int, ProcessSpecs] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- deploying -------------------------------------------------------------------------

    def deploy(
        self, session: Session, files: Sequence[tuple[str, bytes]], actor: str | None = None
    ) -> list[DeployedVersion]:
        """Validate and store `files` (name, content); version every executable process in them.

        Raises DefinitionError listing every problem (file, line, element id); nothing is
        stored then.
        """
        uploaded = self._parse_all(files)
        parser = SpiffBpmnParser(validator=self._validator)
        by_name = {name: content for name, content in files}
        problems = _add_to_parser(parser, uploaded)
        if problems:
            raise DefinitionError(problems)
        upload_names = {doc.name for doc in uploaded}
        keys = [pid for pid in parser.get_process_ids() if parser.process_parsers[pid].filename in upload_names]
        too_long = [DefinitionProblem(parser.process_parsers[pid].filename, f"process id is longer than {MAX_KEY_LENGTH} "
                                      "characters", element_id=pid[:80]) for pid in keys if len(pid) > MAX_KEY_LENGTH]
        if too_long:
            raise DefinitionError(too_long)
        keys += self._add_dependents(session, parser, uploaded, by_name)
        self._resolve_missing(session, parser, by_name)
        if not keys:
            raise DefinitionError([DefinitionProblem(", ".join(sorted(upload_names)), "defines no executable process, "
                                                     "and no deployed process is built from these files")])
        closures, problems = {}, []
        for pid in keys:
            try:
                closures[pid] = _closure_files(parser, pid)
            except ValidationException as exc:
                problems.append(_problem(exc, uploaded))
        if problems:
            raise DefinitionError(problems)
        parsed = {doc.name: doc for doc in uploaded}
        stored = {name: self._store_file(session, name, content, parsed.get(name)) for name, content in by_name.items()}
        return [self._version(session, parser, pid, [stored[n] for n in closures[pid]], actor) for pid in keys]

    def _add_dependents(
        self, session: Session, parser: SpiffBpmnParser, uploaded: list[DefinitionXml], by_name: dict[str, bytes]
    ) -> list[str]:
        """Keys of deployed processes built from a file the upload replaces (same name, or
        redefining one of its processes or decisions): they get a new version too, so that a
        changed decision table reaches the processes that use it. Their other files are added."""
        redefined = {symbol for doc in uploaded for symbol, _ in _symbols(doc)}
        in_upload = set(parser.process_parsers)
        dependents: dict[str, list[DefinitionFile]] = {}
        for version in self.latest_versions(session):
            replaced = [f for f in version.files if f.name in by_name or self._symbols_of(session, f) & redefined]
            if replaced and version.process_key not in in_upload:
                dependents[version.process_key] = [f for f in version.files if f not in replaced]
        kept = {f.name: f for files in dependents.values() for f in files if f.name not in by_name}
        for stored in kept.values():
            by_name[stored.name] = stored.content
        problems = _add_to_parser(parser, [parse_definition(f.name, f.content, len(f.content)) for f in kept.values()])
        if problems:
            raise DefinitionError(problems)
        return [key for key in dependents if key in parser.process_parsers]

    @staticmethod
    def _symbols_of(session: Session, stored: DefinitionFile) -> set[str]:
        return set(session.scalars(select(DefinitionSymbol.symbol).where(DefinitionSymbol.file_id == stored.id)))

    def _parse_all(self, files: Sequence[tuple[str, bytes]]) -> list[DefinitionXml]:
        parsed, problems = [], []
        names = [name for name, _ in files]
        if len(set(names)) != len(names):
            problems.append(DefinitionProblem(", ".join(names), "file names must be unique within a deployment"))
        for name, content in files:
            try:
                parsed.append(parse_definition(name, content, self.max_file_bytes))
            except DefinitionError as exc:
                problems.extend(exc.problems)
        if problems:
            raise DefinitionError(problems)
        return parsed

    def _resolve_missing(self, session: Session, parser: SpiffBpmnParser, by_name: dict[str, bytes]) -> None:
        """Add previously deployed files that define processes or decisions the upload refers to."""
        while True:
            missing = (set(parser.get_process_dependencies()) - set(parser.process_parsers)) | (
                set(parser.get_dmn_dependencies()) - set(parser.dmn_parsers)
            )
            found = [f for f in (self._latest_file_defining(session, symbol) for symbol in missing) if f]
            found = [f for f in found if f.name not in by_name]
            if not found:
                return
            for stored in found:
                by_name[stored.name] = stored.content
            problems = _add_to_parser(parser, [parse_definition(f.name, f.content, self.max_file_bytes) for f in found])
            if problems:
                raise DefinitionError(problems)

    @staticmethod
    def _latest_file_defining(session: Session, symbol: str) -> DefinitionFile | None:
        return session.scalars(
            select(DefinitionFile)
            .join(DefinitionSymbol, DefinitionSymbol.file_id == DefinitionFile.id)
            .where(DefinitionSymbol.symbol == symbol)
            .order_by(DefinitionFile.id.desc())
            .limit(1)
        ).first()

    @staticmethod
    def _store_file(session: Session, name: str, content: bytes, doc: DefinitionXml | None) -> DefinitionFile:
        """The stored row for this content, added (with what it defines) when new. New content
        is always part of the upload, so its parsed document `doc` is at hand."""
        digest = sha256(content)
        existing = session.scalars(select(DefinitionFile).where(DefinitionFile.sha256 == digest)).first()
        if existing is not None:
            return existing
        stored = DefinitionFile(name=name, sha256=digest, content=content, created_at=utcnow())
        session.add(stored)
        session.flush()
        for symbol, kind in _symbols(doc or parse_definition(name, content, len(content))):
            session.add(DefinitionSymbol(file_id=stored.id, symbol=symbol, kind=kind))
        return stored

    def _version(
        self, session: Session, parser: SpiffBpmnParser, pid: str, files: list[DefinitionFile], actor: str | None
    ) -> DeployedVersion:
        content_hash = sha256("\n".join(sorted(f"{f.name}:{f.sha256}" for f in files)).encode())
        latest = self._latest(session, pid)
        if latest is not None and latest.content_hash == content_hash:
            return DeployedVersion(pid, latest.version, created=False)
        version = ProcessVersion(
            process_key=pid,
            version=(latest.version + 1) if latest else 1,
            name=parser.process_parsers[pid].get_name(),
            content_hash=content_hash,
            deployed_at=utcnow(),
            deployed_by=actor,
            files=files,
        )
        session.add(version)
        session.flush()
        return DeployedVersion(pid, version.version, created=True)

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _latest(session: Session, process_key: str) -> ProcessVersion | None:
        return session.scalars(_ROW_LOOKUPS[0], {"key": process_key}).first()

    def get_version(self, session: Session, process_key: str, version: int | None = None) -> ProcessVersion:
        """The given version of a process, or its latest. Raises UnknownProcess."""
        return _looked_up(session, _ROW_LOOKUPS, process_key, version)

    @staticmethod
    def version_id(session: Session, process_key: str, version: int | None = None) -> int:
        """The id of `get_version`'s version, read without loading the row: every start asks
        for it, and the read must not be cached (another process may deploy meanwhile).
        Raises UnknownProcess."""
        return _looked_up(session, _ID_LOOKUPS, process_key, version)

    @staticmethod
    def latest_versions(session: Session) -> list[ProcessVersion]:
        newest = select(ProcessVersion.process_key, func.max(ProcessVersion.version).label("version")).group_by(
            ProcessVersion.process_key
        ).subquery()
        return list(
            session.scalars(
                select(ProcessVersion)
                .join(newest, (newest.c.process_key == ProcessVersion.process_key) & (newest.c.version == ProcessVersion.version))
                .order_by(ProcessVersion.process_key)
            )
        )

    def specs(self, session: Session, version_id: int) -> ProcessSpecs:
        """Parsed specs of a version, from the cache or parsed once from its stored files."""
        with self._lock:
            cached = self._cache.get(version_id)
            if cached is not None:
                self._cache.move_to_end(version_id)
                return cached
        version = session.get(ProcessVersion, version_id)
        parser = SpiffBpmnParser()  # validated when deployed
        problems = _add_to_parser(parser, [parse_definition(f.name, f.content, len(f.content)) for f in version.files])
        if problems:
            raise DefinitionError(problems)
        specs = ProcessSpecs(parser.get_spec(version.process_key), parser.get_subprocess_specs(version.process_key))
        with self._lock:
            self._cache[version_id] = specs
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return specs


def _add_to_parser(parser: SpiffBpmnParser, documents: Iterable[DefinitionXml]) -> list[DefinitionProblem]:
    # DMN first: business-rule tasks look their decision up while the BPMN is parsed.
    problems = []
    for doc in sorted(documents, key=lambda d: d.kind != "dmn"):
        try:
            if doc.kind == "dmn":
                parser.add_dmn_xml(doc.root, filename=doc.name)
            else:
                parser.add_bpmn_xml(doc.root.getroottree(), filename=doc.name)
        except ValidationException as exc:
            problems.append(_problem(exc, [doc]))
    return problems


def _closure_files(parser: SpiffBpmnParser, pid: str) -> list[str]:
    """Names of the files a process's spec is built from. Raises ValidationException."""
    parser.get_spec(pid)
    names = set()
    for process_id in [pid, *parser.get_subprocess_specs(pid)]:
        process_parser = parser.process_parsers.get(process_id)
        if process_parser is None:  # an embedded subprocess: it lives in its parent's file
            continue
        names.add(process_parser.filename)
        for task in process_parser.node.iterfind(".//bpmn:businessRuleTask", SPIFF_NS):
            decision = BusinessRuleTaskParser.get_decision_ref(task)
            if decision in parser.dmn_parsers:
                names.add(parser.dmn_parsers[decision].filename)
    return sorted(names)


def _symbols(doc: DefinitionXml) -> list[tuple[str, str]]:
    if doc.kind == "dmn":
        return [(d.get("id"), "decision") for d in doc.root.iter("{*}decision") if d.get("id")]
    return [(p.get("id"), "process") for p in doc.root.iter("{%s}process" % SPIFF_NS["bpmn"]) if p.get("id")]


def _problem(exc: ValidationException, documents: Sequence[DefinitionXml]) -> DefinitionProblem:
    file_name = getattr(exc, "file_name", "") or (documents[0].name if len(documents) == 1 else "")
    line = getattr(exc, "line_number", None) or None
    element_id = getattr(exc, "id", None) or None
    if element_id is None and line:
        root = next((d.root for d in documents if d.name == file_name), None)
        element_id = element_id_at_line(root, line) if root is not None else None
    message = str(exc.args[0]) if exc.args else str(exc)
    return DefinitionProblem(file_name or "?", message, line=int(line) if line else None, element_id=element_id)


def _looked_up(session: Session, lookups: tuple[Select, Select], process_key: str, version: int | None) -> Any:
    """What `lookups` (see `_version_lookups`) find of the given or latest version. Raises UnknownProcess."""
    latest, numbered = lookups
    found = session.execute(latest if version is None else numbered, {"key": process_key, "version": version}).scalar()
    if found is None:
        raise UnknownProcess(process_key, version)
    return found
