"""Bulk import of office phones and prepopulated contact details from CSV.

Columns: username, office_phone, authentication_phone, authentication_email, consent.
Every row is checked; good rows are applied in one transaction per batch, bad rows are
reported with their line, column and reason. Re-running the same file changes nothing.
The file is read twice as a stream (encoding check and row count, then the import), so memory
stays bounded whatever its length. A large file's rows are checked by worker processes while
this one writes the batches already checked; new rows are written with the database's bulk
path (docs/performance.md).
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import multiprocessing
import os
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from audit.log import wants_event_ids, written_in_bulk
from audit.models import Event, EventKind
from directory.accounts import accounts

from .code.email_addresses import canonical_email, names_a_host, same_address
from .code.phone_numbers import PhoneError, PhoneProblem, e164, parse, region_of
from .models import AuthenticationEmail, AuthenticationPhone, OfficePhone

COLUMNS = ("username", "office_phone", "authentication_phone", "authentication_email", "consent")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}
MAX_FIELD = 254


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("line %(line)d, column %(column)s: %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class ImportReport:
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    kept: list[RowProblem] = field(default_factory=list)  # not applied, by design
    fatal: str = ""

    def add(self, other: ImportReport) -> None:
        """Count a batch's report in the whole file's."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors += other.errors
        self.kept += other.kept

    @property
    def applied(self) -> int:
        return self.created + self.updated

    @property
    def rows_with_errors(self) -> int:
        return len({problem.line for problem in self.errors})


class ImportStopped(Exception):
    pass


@dataclass
class _Row:
    line: int
    username: str
    office_phone: str | None
    authentication_phone: str | None
    authentication_email: str | None
    # The numbers as parsed while checking, so storing them does not parse them again.
    parsed: dict[str, phonenumbers.PhoneNumber] = field(default_factory=dict)


def _raw_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The file's lines, however they end: a line feed, a carriage return and a line feed, or a
    carriage return alone (old Mac and Excel files), which reading by lines would take for one
    line holding the whole file."""
    for raw in stream:
        if b"\r" in raw.rstrip(b"\r\n"):
            # bytes.splitlines splits at \n, \r\n and \r only; \r is never inside a UTF-8
            # character, so each piece still decodes on its own.
            yield from raw.splitlines(keepends=True)
        else:
            yield raw


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported with its line number."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    for number, raw in enumerate(_raw_lines(stream), start=1):
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as exc:
            raise ImportStopped(
                _(
                    "line %(line)d is not UTF-8 text. Save the file as UTF-8 (CSV UTF-8) and "
                    "try again; nothing was imported."
                )
                % {"line": number}
            ) from exc


def _column_names(header: list[str]) -> list[str]:
    """The header's names as compared, without the empty cells a spreadsheet leaves after the
    last column."""
    names = [cell.strip().lower() for cell in header]
    while names and not names[-1]:
        names.pop()
    return names


def _precheck(stream: BinaryIO) -> int:
    """Check the whole file decodes and has the expected header; return its row count."""
    stream.seek(0)
    reader = csv.reader(_decoded_lines(stream))
    try:
        header = next(reader, None)
    except csv.Error as exc:  # e.g. a carriage return inside the header line
        raise ImportStopped(
            _(
                "line %(line)d cannot be read as CSV (%(error)s). Check its quotes and "
                "separators; nothing was imported."
            )
            % {"line": reader.line_num, "error": exc}
        ) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise ImportStopped(
            _("The file is empty. Its first line must name the columns: %(columns)s.")
            % {"columns": ", ".join(COLUMNS)}
        )
    names = _column_names(header)
    unknown = [name for name in names if name not in COLUMNS]
    if unknown or "username" not in names:
        raise ImportStopped(
            _("Unexpected header %(found)s. Use the columns: %(columns)s; nothing was imported.")
            % {"found": ", ".join(header), "columns": ", ".join(COLUMNS)}
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        # The reader would keep the last cell of a column named twice, silently.
        raise ImportStopped(
            _(
                "The header names %(columns)s more than once. Name each column once; "
                "nothing was imported."
            )
            % {"columns": ", ".join(twice)}
        )
    rows = 0
    try:
        start = reader.line_num + 1  # the line the next record starts on
        for row in reader:
            rows += bool(row)  # a blank line is no row (the import's reader skips it)
            if any("\n" in cell or "\r" in cell for cell in row):
                # No column holds a line break: a quote left open took the lines after it
                # into one cell, and their rows would go unreported.
                raise ImportStopped(
                    _(
                        "line %(line)d opens a quote that is not closed on that line, so the "
                        "lines after it would be read as one cell. Close the quote or remove it; "
                        "nothing was imported."
                    )
                    % {"line": start}
                )
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportStopped(
            _(
                "line %(line)d cannot be read as CSV (%(error)s). Check its quotes and "
                "separators; nothing was imported."
            )
            % {"line": reader.line_num, "error": exc}
        ) from exc
    return rows


def _phone(
    value: str,
    line: int,
    column: str,
    problems: list[RowProblem],
    *,
    allowed_regions: Sequence[str],
    parsed: dict,
    any_type: bool = False,
) -> str | None:
    if not value:
        return None
    try:
        # The policy's countries and refused kinds of number apply here as on the user's own
        # form: an import must not plant a number the user could never have registered. An
        # office phone may be a VoIP desk line, never premium-rate (docs/security.md §10).
        number = parse(
            value, region=None, allowed_regions=allowed_regions, refuse_types=not any_type
        )
        text = e164(number)
        parsed[text] = number
        return text
    except PhoneError as exc:
        reason = {
            PhoneProblem.UNREADABLE: _("not a phone number; use the +country code form"),
            PhoneProblem.IMPOSSIBLE: _("this number cannot exist"),
            PhoneProblem.REGION_NOT_ALLOWED: _("country not allowed"),
            PhoneProblem.EXTENSION: _("has an extension; give a direct line without it"),
            PhoneProblem.TYPE_NOT_ALLOWED: _(
                "premium-rate, shared-cost or free-phone numbers cannot be an office phone"
            )
            if any_type
            else _("premium-rate, shared-cost, free-phone or VoIP numbers cannot receive codes"),
        }[exc.problem]
        problems.append(RowProblem(line, column, reason))
        return None


class _CheckedNumber(PhoneNumber):
    """A number this import has already checked: the phone field asks whether it is valid
    before storing it, and that question was most of the import's time."""

    def is_valid(self) -> bool:
        return True


def _stored(row: _Row, e164_number: str) -> PhoneNumber:
    """The number as the phone field keeps it, from the row's parsed number (the field would
    parse the text again on every assignment)."""
    number = _CheckedNumber()
    number.merge_from(row.parsed.get(e164_number) or phonenumbers.parse(e164_number, None))
    return number


def _country(row: _Row, e164_number: str) -> str:
    """The number's country, kept beside it (methods/code/models.py `NumberRegionField`)."""
    return region_of(row.parsed.get(e164_number) or e164_number)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_row(
    line: int, record: dict[str, str], allowed_regions: Sequence[str], directory: bool
) -> tuple[int, str, _Row | None, list]:
    """Check one row on its own (whether its user is named twice is the caller's part).
    Returns the line, the username, the row when it is good, and the problems found. Touches
    no database: it may run in a worker process."""
    problems: list[RowProblem] = []
    values = {name: (record.get(name) or "").strip() for name in COLUMNS}
    # Cells refused for what they hold (emptied, so not also reported as missing).
    refused = [name for name, value in values.items() if len(value) > MAX_FIELD]
    for name in refused:
        problems.append(RowProblem(line, name, _("longer than 254 characters")))
        values[name] = ""
    # A NUL or another control character: no name, number or address holds one, and the
    # database may refuse it (PostgreSQL refuses NUL) after earlier batches were stored.
    for name, value in values.items():
        if _CONTROL.search(value):
            problems.append(RowProblem(line, name, _("contains a control character")))
            values[name] = ""
            refused.append(name)
    username = values["username"]
    if not username and "username" not in refused:
        problems.append(RowProblem(line, "username", _("missing")))
    # Cells after the last column: refused when they hold anything (empty ones are what a
    # spreadsheet writes after the last column it kept).
    if any((cell or "").strip() for cell in record.get(None) or ()):
        problems.append(RowProblem(line, "", _("more cells than columns")))
    if values["office_phone"] and directory:
        problems.append(
            RowProblem(line, "office_phone", _("the directory sets office phones; leave it empty"))
        )
        values["office_phone"] = ""
    parsed: dict[str, phonenumbers.PhoneNumber] = {}
    office = _phone(
        values["office_phone"],
        line,
        "office_phone",
        problems,
        allowed_regions=allowed_regions,
        parsed=parsed,
        any_type=True,
    )
    phone = _phone(
        values["authentication_phone"],
        line,
        "authentication_phone",
        problems,
        allowed_regions=allowed_regions,
        parsed=parsed,
    )
    email = canonical_email(values["authentication_email"]) or None
    if email and len(email) > MAX_FIELD:
        # Longer once its domain is in canonical form (a capital İ becomes two letters).
        problems.append(RowProblem(line, "authentication_email", _("longer than 254 characters")))
        email = None
    if email:
        try:
            validate_email(email)
            if names_a_host(email):
                raise ValidationError("a server's address, not a domain")
        except ValidationError:
            problems.append(RowProblem(line, "authentication_email", _("not an email address")))
            email = None
    consent = values["consent"].lower()
    if consent not in YES | NO:
        problems.append(RowProblem(line, "consent", _("use yes or no")))
    elif (values["authentication_phone"] or values["authentication_email"]) and consent not in YES:
        problems.append(
            RowProblem(
                line,
                "consent",
                _("must be yes: authentication phone and email need the user's agreement"),
            )
        )
    if problems:
        return line, username, None, problems
    return line, username, _Row(line, username, office, phone, email, parsed), []


def _check_rows(chunk: list[tuple[int, dict]], allowed_regions, directory: bool) -> list:
    return [_check_row(line, record, allowed_regions, directory) for line, record in chunk]


# A file of at least this many rows is checked by worker processes (phone numbers are most of
# the checking time), CHUNK rows at a time, a few chunks ahead of the rows being applied.
PARALLEL_FROM = 5000
CHUNK = 500


def _workers(total: int) -> int:
    if total < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(os.cpu_count() or 1, 4)


def _checked(reader: csv.DictReader, total: int, allowed_regions) -> Iterator[tuple]:
    """Each row checked, in file order: in this process for a small file, by worker processes
    for a large one (the same function either way; only the reading and the order are here,
    so memory stays bounded by the chunks in flight)."""
    directory = accounts().kind != "none"
    records = ((reader.line_num, record) for record in reader)
    workers = _workers(total)
    if workers < 2:
        for line, record in records:
            yield _check_row(line, record, allowed_regions, directory)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque = deque()
        while chunk := list(itertools.islice(records, CHUNK)):
            pending.append(pool.submit(_check_rows, chunk, allowed_regions, directory))
            if len(pending) > 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def import_contact_info(
    stream: BinaryIO,
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    actor=None,
    ip: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    allowed_regions: Sequence[str] = (),
) -> ImportReport:
    """Check and apply a CSV file of contact details (a binary, seekable stream).

    `allowed_regions` are the policy's phone countries (empty: any); `ip` the address the
    file came from (an upload), for the audit events."""
    report = ImportReport(dry_run=dry_run)
    try:
        total = _precheck(stream)
        stream.seek(0)
        reader = csv.DictReader(_decoded_lines(stream))
        reader.fieldnames = _column_names(reader.fieldnames or [])
        seen: dict[str, int] = {}
        batch: list[_Row] = []
        store = accounts()
        for line, username, row, problems in _checked(reader, total, allowed_regions):
            report.rows += 1
            # As sign-in finds the person: the account store's spelling (in the directory,
            # letters in any case are one name; Django's own accounts tell case apart).
            username = store.canonical_username(username) if username else username
            if row is not None:
                row.username = username
            if username and (first := seen.get(username)):
                duplicate = _("already on line %(line)d; each user once per file") % {"line": first}
                problems = [RowProblem(line, "username", duplicate), *problems]
                row = None
            elif username:
                seen[username] = line
            report.errors.extend(problems)
            if row is not None:
                batch.append(row)
            if len(batch) >= batch_size:
                _apply(batch, report, dry_run=dry_run, actor=actor, ip=ip)
                batch = []
            if progress and report.rows % batch_size == 0:
                progress(report.rows, total)
        if batch:
            _apply(batch, report, dry_run=dry_run, actor=actor, ip=ip)
        if progress:
            progress(report.rows, total)
    except ImportStopped as exc:
        report.fatal = str(exc)
    report.errors.sort(key=lambda problem: problem.line)
    return report


@dataclass
class _Existing:
    """A stored record as the import compares it: its id, value and whether it was verified."""

    pk: int
    value: str
    verified: bool = False


@dataclass
class _Writes:
    """What a batch writes: new rows as column values in the database's terms, changed records
    as lightweight instances for bulk_update, and the audit rows."""

    created: dict[type, list[dict]] = field(default_factory=lambda: defaultdict(list))
    updated: dict[type, list] = field(default_factory=lambda: defaultdict(list))
    events: list[dict] = field(default_factory=list)


UPDATED_FIELDS = {
    OfficePhone: ["number", "country", "updated_at"],
    AuthenticationPhone: ["number", "country", "prepopulated", "consent_recorded_at", "updated_at"],
    AuthenticationEmail: ["email", "prepopulated", "consent_recorded_at", "updated_at"],
}


def _stored_values(usernames: list[str]) -> dict[str, tuple[int, dict[type, _Existing], str]]:
    """Each named user's id, stored contact records and own address, in one query: the value
    as stored (E.164
    for numbers, not turned into a number object on the way), its id, and whether the user
    verified it. Each record is looked up by its user's index (a subquery per record kind), so
    a batch costs the same whatever the size of the tables."""
    User = get_user_model()
    parts = (
        (OfficePhone, "number", False),
        (AuthenticationPhone, "number", True),
        (AuthenticationEmail, "email", True),
    )
    columns = {}
    for model, attr, verified in parts:
        mine = model.objects.filter(user=OuterRef("pk"))
        name = model._meta.model_name
        columns[f"{name}_pk"] = Subquery(mine.values("pk")[:1])
        columns[f"{name}_value"] = Subquery(
            mine.annotate(stored=Cast(attr, TextField())).values("stored")[:1]
        )
        if verified:
            columns[f"{name}_verified"] = Subquery(mine.values("verified_at")[:1])
    users = User.objects.filter(**{f"{User.USERNAME_FIELD}__in": usernames}).annotate(**columns)
    found = {}
    for values in users.values(User.USERNAME_FIELD, "pk", "email", *columns):
        records = {}
        for model, _attr, verified in parts:
            name = model._meta.model_name
            if values[f"{name}_pk"] is not None:
                verified_at = values[f"{name}_verified"] if verified else None
                records[model] = _Existing(
                    values[f"{name}_pk"], values[f"{name}_value"], verified_at is not None
                )
        found[values[User.USERNAME_FIELD]] = (values["pk"], records, values["email"])
    return found


# How often a batch is read and written again when its people's contact details changed
# between the read and the write (below), before the import stops.
BATCH_TRIES = 3


class _ChangedMeanwhile(Exception):
    """A record the batch changes was verified by its person after the batch read it."""


def _apply(
    batch: list[_Row], report: ImportReport, *, dry_run: bool, actor, ip: str | None = None
) -> None:
    """Check the batch against what is stored and write it in one transaction. A person may
    add or verify a phone or an address between the read and the write: a record created
    meanwhile takes the unique key the batch would insert, and a value verified meanwhile
    must not be replaced by an unproven one (or left marked verified with the imported value).
    Either undoes the batch's transaction; the batch is then read and written again, and the
    report counts only what the last try stored."""
    for _try in range(BATCH_TRIES):
        part = ImportReport(dry_run=dry_run)
        writes = _plan(batch, part, actor=actor, ip=ip)
        if dry_run:
            break
        try:
            _write(writes)
        except (IntegrityError, _ChangedMeanwhile):
            continue
        break
    else:
        raise ImportStopped(
            _(
                "The contact details of the people on lines %(first)d to %(last)d kept changing "
                "while they were imported, so they were not; the lines before them were. Import "
                "the file again."
            )
            % {"first": batch[0].line, "last": batch[-1].line}
        )
    report.add(part)


def _plan(batch: list[_Row], report: ImportReport, *, actor, ip: str | None) -> _Writes:
    """What the batch writes, against what is stored now, counted in `report`."""
    # Ids and values only, in one query: no model object is built for a row that is new or
    # unchanged (the import's time went there).
    stored = _stored_values([row.username for row in batch])
    missing = [row for row in batch if row.username not in stored]
    for row in missing:
        report.errors.append(RowProblem(row.line, "username", _("no such user")))
    rows = []
    for row in batch:
        if row.username not in stored:
            continue
        if row.authentication_email and same_address(
            stored[row.username][2], row.authentication_email
        ):
            # Read with the account's password, it cannot recover the account.
            report.errors.append(
                RowProblem(
                    row.line,
                    "authentication_email",
                    _("the account's own address; use one the user can read without it"),
                )
            )
            continue
        rows.append(row)
    now = timezone.now()
    when = connection.ops.adapt_datetimefield_value(now)
    writes = _Writes()
    actor_id = getattr(actor, "pk", None)
    for row in rows:
        user_id, records, _own = stored[row.username]
        changed: list[str] = []
        created = False
        if row.office_phone:
            office = records.get(OfficePhone)
            if office is None:
                writes.created[OfficePhone].append(
                    {
                        "user_id": user_id,
                        "number": row.office_phone,
                        "country": _country(row, row.office_phone),
                        "updated_at": when,
                    }
                )
                changed.append("office_phone")
                created = True
            elif office.value != row.office_phone:
                writes.updated[OfficePhone].append(
                    OfficePhone(
                        pk=office.pk,
                        user_id=user_id,
                        number=_stored(row, row.office_phone),
                        country=_country(row, row.office_phone),
                        updated_at=now,
                    )
                )
                changed.append("office_phone")
        for model, value, attr, column in (
            (AuthenticationPhone, row.authentication_phone, "number", "authentication_phone"),
            (AuthenticationEmail, row.authentication_email, "email", "authentication_email"),
        ):
            if not value:
                continue
            record = records.get(model)
            if record is None:
                writes.created[model].append(
                    {
                        "user_id": user_id,
                        attr: value,
                        **({"country": _country(row, value)} if attr == "number" else {}),
                        "prepopulated": True,
                        "consent_recorded_at": when,
                        "updated_at": when,
                    }
                )
                changed.append(column)
                created = True
            elif record.value.casefold() == value.casefold():
                continue
            elif record.verified:
                # Never replace what the user proved themselves with an unproven value.
                report.kept.append(
                    RowProblem(row.line, column, _("kept the value the user verified"))
                )
            else:
                writes.updated[model].append(
                    model(
                        pk=record.pk,
                        user_id=user_id,
                        **(
                            {attr: _stored(row, value), "country": _country(row, value)}
                            if attr == "number"
                            else {attr: value}
                        ),
                        prepopulated=True,
                        consent_recorded_at=now,
                        updated_at=now,
                    )
                )
                changed.append(column)
        if not changed:
            report.unchanged += 1
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
        writes.events.append(
            {
                "created_at": when,
                "actor_id": actor_id,
                "subject_id": user_id,
                "kind": str(EventKind.CONTACT_IMPORTED),
                "ip": ip,
                "details": _details(tuple(changed)),
            }
        )
    return writes


def _write(writes: _Writes) -> None:
    with transaction.atomic():
        for model, values in writes.created.items():
            _insert(model, values)
        for model, objects in writes.updated.items():
            rows = model.objects.all()
            if model is not OfficePhone:  # the only one a person never verifies
                rows = rows.filter(verified_at__isnull=True)
            if rows.bulk_update(objects, UPDATED_FIELDS[model]) != len(objects):
                raise _ChangedMeanwhile
        ids = _insert(Event, writes.events, returning=wants_event_ids())
    if writes.events:
        # Written without audit.log.record: logged, counted and streamed as its events are.
        written_in_bulk(
            EventKind.CONTACT_IMPORTED,
            len(writes.events),
            ids,
            actor_id=writes.events[0]["actor_id"],
        )


@functools.lru_cache(maxsize=16)
def _details(fields: tuple[str, ...]):
    """An audit row's details in the database's terms (a handful of kinds, each made once)."""
    return connection.ops.adapt_json_value({"fields": list(fields)}, None)


def _insert(model, rows: list[dict], *, returning: bool = False) -> list[int] | None:
    """Write new rows, given as column values already in the database's terms, with as few
    statements as the database takes parameters for. The values come from the checks above
    (numbers in E.164, addresses canonical, times adapted), so the model's own preparation would
    only repeat them. With `returning`, the new rows' ids, in statements that give them back."""
    if not rows:
        return [] if returning else None
    columns = list(rows[0])
    quote = connection.ops.quote_name
    table = "{} ({})".format(
        quote(model._meta.db_table), ", ".join(quote(column) for column in columns)
    )
    if connection.vendor == "postgresql" and not returning:
        # PostgreSQL's own bulk path: rows streamed, nothing to parse per value. Its errors
        # are Django's, as a statement's are (a unique key taken: IntegrityError).
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([row[column] for column in columns])
        return
    marks = "({})".format(", ".join(["%s"] * len(columns)))
    size = max(connection.ops.bulk_batch_size(columns, rows), 1)
    ids = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {table} VALUES "  # noqa: S608
                + ", ".join([marks] * len(chunk))
                + (" RETURNING id" if returning else ""),
                [row[column] for row in chunk for column in columns],
            )
            if returning:
                ids += [row[0] for row in cursor.fetchall()]
    return ids if returning else None
