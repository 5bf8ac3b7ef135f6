"""Bulk creation of call tasks from a CSV file, with a report of every row.

The file: UTF-8 (a BOM is fine), comma-separated, a header naming the columns in any order:
`number` and `client_ref` (required), `agent`, `business_unit`, `voicemail`, `client_name`
(optional; empty = the command's or the settings' default). Rows are checked one by one exactly
like `callrec dial add` (callrec.dialer.intake) and against each other and the open tasks: a second
row for the same number or client is refused as a duplicate.

What is all-or-nothing: a file that cannot be read as a whole -- not UTF-8, not CSV, a header
missing a required column or naming an unknown one, too many rows -- imports nothing. Otherwise the
valid rows are imported and each refused row is reported with its line and reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from uuid import UUID, uuid4

from callrec.dialer.errors import DialerError
from callrec.dialer.intake import Intake, duplicate_of
from callrec.dialer.schedule import Task

REQUIRED = ("number", "client_ref")
OPTIONAL = ("agent", "business_unit", "voicemail", "client_name")
MAX_ROWS = 10_000
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FIELD_CHARS = 200  # also keeps csv's own field limit (128 KiB) far away


class RowStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RowResult:
    line: int  # line of the file where the row ends (the header is line 1)
    status: RowStatus
    reason: str  # "" when accepted
    number: str  # normalised when accepted, as written otherwise
    client_ref: str
    task: Task | None


@dataclass(frozen=True)
class ImportReport:
    rows: tuple[RowResult, ...]

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(r.task for r in self.rows if r.task is not None)

    @property
    def rejected(self) -> tuple[RowResult, ...]:
        return tuple(r for r in self.rows if r.status is RowStatus.REJECTED)


@dataclass(frozen=True)
class Defaults:
    """Values for rows that leave a column empty (the command's --agent / --business-unit)."""

    agent: str = ""
    business_unit: str = ""


def read_file(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DialerError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise DialerError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DialerError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as "
                          f"CSV UTF-8") from exc


def parse(text: str, intake: Intake, open_tasks: Sequence[Task], defaults: Defaults = Defaults(),
          new_id: Callable[[], UUID] = uuid4) -> ImportReport:
    """Every data row of `text` accepted (with its task) or rejected (with the reason)."""
    records = _records(text)
    header_line, header = next(records, (0, []))
    if header_line == 0:
        raise DialerError(f"the file is empty: expected a header line naming "
                          f"{', '.join(REQUIRED)}")
    columns = _columns(header)
    earlier = _Earlier()
    results: list[RowResult] = []
    for line, record in records:
        if len(results) >= MAX_ROWS:
            raise DialerError(f"more than {MAX_ROWS} rows: split the file")
        result = _row(line, record, columns, intake, defaults, new_id)
        task = result.task
        if task is not None:
            reason = duplicate_of(task, open_tasks) or earlier.duplicate(task)
            if reason is not None:
                result = replace(result, status=RowStatus.REJECTED, reason=f"duplicate: {reason}",
                                 task=None)
            else:
                earlier.add(line, task)
        results.append(result)
    return ImportReport(tuple(results))


class _Earlier:
    """The numbers and clients of the rows accepted so far, with their lines."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.clients: dict[str, int] = {}

    def duplicate(self, task: Task) -> str | None:
        if task.number in self.numbers:
            return f"same number as line {self.numbers[task.number]}"
        if task.client_ref in self.clients:
            return f"same client as line {self.clients[task.client_ref]}"
        return None

    def add(self, line: int, task: Task) -> None:
        self.numbers[task.number] = line
        self.clients[task.client_ref] = line


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of every non-blank record; a file csv cannot parse fails as a whole."""
    if "\x00" in text:  # csv accepts NUL since 3.11; here it means a binary file (a workbook?)
        raise DialerError("not a readable CSV file: it contains NUL bytes (save it as CSV UTF-8)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for record in reader:
            if any(field.strip() for field in record):
                yield reader.line_num, record
    except csv.Error as exc:
        raise DialerError(f"not a readable CSV file (line {reader.line_num}): {exc}") from exc


def _columns(header: list[str]) -> tuple[str, ...]:
    names = tuple(h.strip().lower().replace(" ", "_").replace("-", "_") for h in header)
    if not names:
        return names  # empty file: reported by parse()
    unknown = [n for n in names if n not in REQUIRED + OPTIONAL]
    if unknown:
        hint = "; is the file comma-separated?" if any(";" in n or "\t" in n for n in names) else ""
        raise DialerError(f"header: unknown columns {unknown}; expected {', '.join(REQUIRED)} "
                          f"and optionally {', '.join(OPTIONAL)}{hint}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DialerError(f"header: columns named more than once: {', '.join(twice)}")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise DialerError(f"header: missing required columns: {', '.join(missing)}")
    return names


def _row(line: int, record: list[str], columns: tuple[str, ...], intake: Intake,
         defaults: Defaults, new_id: Callable[[], UUID]) -> RowResult:
    fields = dict(zip(columns, record))
    number, ref = fields.get("number", ""), fields.get("client_ref", "")

    def rejected(reason: str) -> RowResult:
        return RowResult(line, RowStatus.REJECTED, reason, number[:MAX_FIELD_CHARS],
                         ref[:MAX_FIELD_CHARS], None)

    if len(record) != len(columns):
        return rejected(f"{len(record)} fields where the header has {len(columns)}")
    too_long = [c for c, v in fields.items() if len(v) > MAX_FIELD_CHARS]
    if too_long:
        return rejected(f"{too_long[0]}: longer than {MAX_FIELD_CHARS} characters")
    try:
        task = intake.task(
            id=new_id(), number=number, client_ref=ref,
            agent=fields.get("agent", "").strip() or defaults.agent,
            business_unit=fields.get("business_unit", "").strip() or defaults.business_unit,
            voicemail=fields.get("voicemail", ""), client_name=fields.get("client_name", ""))
    except DialerError as exc:
        return rejected(str(exc))
    return RowResult(line, RowStatus.ACCEPTED, "", task.number, task.client_ref, task)
