"""Loading historical petitions from a CSV file as closed records, so hotspots and the
classifier can run over years of past messages.

The file is read and checked whole before anything is written: a malformed row stops the
import with its row number and column, and nothing lands. Rows are keyed by (`source`, the
file's `id`), so importing a file again adds only rows not seen before. Inserts go in
batches through one multi-row statement each.

Imported rows have no process instance and are created in the final status `closed` (they
never move again), with channel `web` and type `letters`; citizens cannot open them (their
access hash matches no token).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..errors import PetitionError
from ..models import Petition
from ..statuses import PUBLIC_STATUS, PetitionStatus

REQUIRED = ("id", "title", "created_at", "body")
KNOWN = (*REQUIRED, "user", "likes", "dislikes", "reply", "replied_at")
NO_ACCESS = "-"  # never equal to a token's hex digest
IMPORTED_STATUS = PetitionStatus.CLOSED
MAX_KEY = 64  # length of the source, source_id and petitioner_ref columns
MAX_TITLE = 255


class MalformedCsv(PetitionError):
    """The CSV cannot be imported; `row` counts the header as row 1 (None: the file as a whole)."""

    def __init__(self, row: int | None, column: str | None, message: str):
        self.row, self.column = row, column
        where = ", ".join(filter(None, [f"row {row}" if row else None, f"column {column}" if column else None]))
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class ImportReport:
    source: str
    read: int  # data rows in the file
    added: int
    skipped: int  # already imported, or repeated within the file


def import_messages(session: Session, lines: Iterable[str], source: str, now: datetime, tz: ZoneInfo,
                    batch_size: int = 2000) -> ImportReport:
    """Add the rows of a messages CSV not yet imported from `source`. Raises MalformedCsv."""
    if not source or len(source) > MAX_KEY:
        raise MalformedCsv(None, None, f"the source name must have 1 to {MAX_KEY} characters")
    rows = list(parse_rows(lines, source, now, tz))
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        fresh.setdefault(row["source_id"], row)
    batch: list[dict[str, Any]] = []
    added = 0
    for row in fresh.values():
        batch.append(row)
        if len(batch) == batch_size:
            added += _insert_new(session, source, batch)
            batch = []
    if batch:
        added += _insert_new(session, source, batch)
    return ImportReport(source, len(rows), added, len(rows) - added)


def _insert_new(session: Session, source: str, batch: list[dict[str, Any]]) -> int:
    """Insert the rows of `batch` whose source id is not in the database yet; returns how many."""
    ids = [row["source_id"] for row in batch]
    known = set(session.scalars(select(Petition.source_id).where(Petition.import_source == source,
                                                                  Petition.source_id.in_(ids))))
    new = [row for row in batch if row["source_id"] not in known]
    if new:
        session.execute(insert(Petition.__table__), new)  # Core executemany: no per-row ORM bookkeeping
    return len(new)


def parse_rows(lines: Iterable[str], source: str, now: datetime, tz: ZoneInfo) -> Iterator[dict[str, Any]]:
    """Petition column values for each data row. Raises MalformedCsv at the first bad row."""
    reader = csv.reader(lines)
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader)]
    except StopIteration:
        raise MalformedCsv(None, None, "the file is empty") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise MalformedCsv(1, ", ".join(missing), f"required column missing (the header has: {', '.join(header)})")
    extras = tuple(name for name in header if name not in KNOWN)  # kept in the `extra` JSON
    row_no = 1
    try:
        for row_no, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != len(header):
                raise MalformedCsv(row_no, None, f"{len(values)} fields where the header has {len(header)}")
            yield _petition_values(dict(zip(header, values)), extras, row_no, source, now, tz)
    except csv.Error as exc:
        raise MalformedCsv(row_no + 1, None, f"not valid CSV: {exc}") from None


def _petition_values(record: dict[str, str], extras: tuple[str, ...], row_no: int, source: str, now: datetime,
                     tz: ZoneInfo) -> dict[str, Any]:
    source_id = record["id"].strip()
    if not source_id or len(source_id) > MAX_KEY:
        raise MalformedCsv(row_no, "id", f"must have 1 to {MAX_KEY} characters")
    title, body = record["title"].strip(), record["body"].strip()
    if not title and not body:
        raise MalformedCsv(row_no, "title", "title and body are both empty")
    created_at = _time(record, "created_at", row_no, tz)
    if created_at is None:
        raise MalformedCsv(row_no, "created_at", "empty")
    replied_at = _time(record, "replied_at", row_no, tz)
    status = IMPORTED_STATUS
    return {
        "tracking_no": "HI" + hashlib.sha256(f"{source}\0{source_id}".encode()).hexdigest()[:20],
        "access_token_hash": NO_ACCESS,
        "channel": "web",
        "type": "letters",
        "urgency": "normal",
        "title": (title or body)[:MAX_TITLE],
        "body": body or title,
        "emergency": False,
        "status": status,
        "public_status": PUBLIC_STATUS[status],
        "reply": record.get("reply", "").strip() or None,
        "reopen_count": 0,
        "extension_days": 0,
        "petitioner_ref": _petitioner(record.get("user", "")),
        "likes": _count(record, "likes", row_no),
        "dislikes": _count(record, "dislikes", row_no),
        "import_source": source,
        "source_id": source_id,
        "extra": {name: record[name] for name in extras if record[name] != ""} or None,
        "created_at": created_at,
        "updated_at": now,
        "replied_at": replied_at,
        "closed_at": replied_at or created_at,
    }


def _time(record: dict[str, str], column: str, row_no: int, tz: ZoneInfo) -> datetime | None:
    """A date-time in UTC; one without an offset is local time in `tz`. None for an empty cell."""
    text = record.get(column, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedCsv(row_no, column, f"not a date-time: {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(timezone.utc)


def _count(record: dict[str, str], column: str, row_no: int) -> int | None:
    text = record.get(column, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise MalformedCsv(row_no, column, f"not a count: {text!r}")
    return int(text)


def _petitioner(user: str) -> str | None:
    """The file's pseudonymous petitioner id, hashed down when it is longer than the column."""
    user = user.strip()
    if len(user) > MAX_KEY:
        return hashlib.sha256(user.encode()).hexdigest()
    return user or None
