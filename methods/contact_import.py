"""Bulk import of office phones and prepopulated contact details from CSV.

Columns: username, office_phone, authentication_phone, authentication_email, consent.
Every row is checked; good rows are applied in one transaction per batch, bad rows are
reported with their line, column and reason. Re-running the same file changes nothing.
The file is read twice as a stream (encoding check and row count, then the import), so memory
stays bounded whatever its length.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import phonenumbers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from audit.models import Event, EventKind
from directory.accounts import accounts

from .emails import canonical_email
from .models import AuthenticationEmail, AuthenticationPhone, OfficePhone
from .phones import PhoneError, PhoneProblem, e164, parse

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


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported with its line number."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    for number, raw in enumerate(stream, start=1):
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


def _precheck(stream: BinaryIO) -> int:
    """Check the whole file decodes and has the expected header; return its row count."""
    stream.seek(0)
    reader = csv.reader(_decoded_lines(stream))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise ImportStopped(
            _("The file is empty. Its first line must name the columns: %(columns)s.")
            % {"columns": ", ".join(COLUMNS)}
        )
    names = [cell.strip().lower() for cell in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown or "username" not in names:
        raise ImportStopped(
            _("Unexpected header %(found)s. Use the columns: %(columns)s.")
            % {"found": ", ".join(header), "columns": ", ".join(COLUMNS)}
        )
    rows = 0
    try:
        for _row in reader:
            rows += 1
    except csv.Error as exc:
        raise ImportStopped(
            _("line %(line)d cannot be read as CSV: %(error)s")
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
        # form: an import must not plant a number the user could never have registered.
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
            PhoneProblem.TYPE_NOT_ALLOWED: _(
                "premium-rate, shared-cost, free-phone or VoIP numbers cannot receive codes"
            ),
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


def _check_row(
    line: int, record: dict[str, str], seen: dict[str, int], allowed_regions: Sequence[str]
) -> tuple[_Row | None, list]:
    problems: list[RowProblem] = []
    values = {name: (record.get(name) or "").strip() for name in COLUMNS}
    for name, value in values.items():
        if len(value) > MAX_FIELD:
            problems.append(RowProblem(line, name, _("longer than 254 characters")))
            values[name] = ""
    username = values["username"]
    if not username:
        problems.append(RowProblem(line, "username", _("missing")))
    elif username.casefold() in seen:
        problems.append(
            RowProblem(
                line,
                "username",
                _("already on line %(line)d; each user once per file")
                % {"line": seen[username.casefold()]},
            )
        )
    else:
        seen[username.casefold()] = line
    if None in record:
        problems.append(RowProblem(line, "", _("more cells than columns")))
    if values["office_phone"] and accounts().kind != "none":
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
    if email:
        try:
            validate_email(email)
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
        return None, problems
    return _Row(line, username, office, phone, email, parsed), []


def import_contact_info(
    stream: BinaryIO,
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    actor=None,
    progress: Callable[[int, int], None] | None = None,
    allowed_regions: Sequence[str] = (),
) -> ImportReport:
    """Check and apply a CSV file of contact details (a binary, seekable stream).

    `allowed_regions` are the policy's phone countries (empty: any)."""
    report = ImportReport(dry_run=dry_run)
    try:
        total = _precheck(stream)
        stream.seek(0)
        reader = csv.DictReader(_decoded_lines(stream))
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
        seen: dict[str, int] = {}
        batch: list[_Row] = []
        for record in reader:
            report.rows += 1
            row, problems = _check_row(reader.line_num, record, seen, allowed_regions)
            report.errors.extend(problems)
            if row is not None:
                batch.append(row)
            if len(batch) >= batch_size:
                _apply(batch, report, dry_run=dry_run, actor=actor)
                batch = []
            if progress and report.rows % batch_size == 0:
                progress(report.rows, total)
        if batch:
            _apply(batch, report, dry_run=dry_run, actor=actor)
        if progress:
            progress(report.rows, total)
    except ImportStopped as exc:
        report.fatal = str(exc)
    report.errors.sort(key=lambda problem: problem.line)
    return report


def _apply(batch: list[_Row], report: ImportReport, *, dry_run: bool, actor) -> None:
    User = get_user_model()
    # Ids only: no user object is built for a row (the import's time went there).
    users = dict(
        User.objects.filter(
            **{f"{User.USERNAME_FIELD}__in": [row.username for row in batch]}
        ).values_list(User.USERNAME_FIELD, "pk")
    )
    missing = [row for row in batch if row.username not in users]
    for row in missing:
        report.errors.append(RowProblem(row.line, "username", _("no such user")))
    rows = [row for row in batch if row.username in users]
    ids = [users[row.username] for row in rows]
    offices = {o.user_id: o for o in OfficePhone.objects.filter(user_id__in=ids)}
    phones = {p.user_id: p for p in AuthenticationPhone.objects.filter(user_id__in=ids)}
    emails = {e.user_id: e for e in AuthenticationEmail.objects.filter(user_id__in=ids)}
    now = timezone.now()
    to_create: dict[type, list] = {
        OfficePhone: [],
        AuthenticationPhone: [],
        AuthenticationEmail: [],
    }
    to_update: dict[type, list] = {
        OfficePhone: [],
        AuthenticationPhone: [],
        AuthenticationEmail: [],
    }
    events = []
    for row in rows:
        user_id = users[row.username]
        changed: list[str] = []
        created = False
        if row.office_phone:
            office = offices.get(user_id)
            if office is None:
                to_create[OfficePhone].append(
                    OfficePhone(user_id=user_id, number=_stored(row, row.office_phone))
                )
                changed.append("office_phone")
                created = True
            elif str(office.number) != row.office_phone:
                office.number = _stored(row, row.office_phone)
                office.updated_at = now
                to_update[OfficePhone].append(office)
                changed.append("office_phone")
        for model, value, existing, attr, column in (
            (
                AuthenticationPhone,
                row.authentication_phone,
                phones,
                "number",
                "authentication_phone",
            ),
            (
                AuthenticationEmail,
                row.authentication_email,
                emails,
                "email",
                "authentication_email",
            ),
        ):
            if not value:
                continue
            record = existing.get(user_id)
            if record is None:
                to_create[model].append(
                    model(
                        user_id=user_id,
                        **{attr: _stored(row, value) if attr == "number" else value},
                        prepopulated=True,
                        consent_recorded_at=now,
                    )
                )
                changed.append(column)
                created = True
            elif str(getattr(record, attr)).casefold() == value.casefold():
                continue
            elif record.verified_at is not None:
                # Never replace what the user proved themselves with an unproven value.
                report.kept.append(
                    RowProblem(row.line, column, _("kept the value the user verified"))
                )
            else:
                setattr(record, attr, _stored(row, value) if attr == "number" else value)
                record.prepopulated = True
                record.consent_recorded_at = now
                record.updated_at = now
                to_update[model].append(record)
                changed.append(column)
        if not changed:
            report.unchanged += 1
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
        events.append(
            Event(
                kind=EventKind.CONTACT_IMPORTED,
                actor=actor if getattr(actor, "pk", None) else None,
                subject_id=user_id,
                details={"fields": changed},
            )
        )
    if dry_run:
        return
    with transaction.atomic():
        for model, objects in to_create.items():
            model.objects.bulk_create(objects)
        OfficePhone.objects.bulk_update(to_update[OfficePhone], ["number", "updated_at"])
        AuthenticationPhone.objects.bulk_update(
            to_update[AuthenticationPhone],
            ["number", "prepopulated", "consent_recorded_at", "updated_at"],
        )
        AuthenticationEmail.objects.bulk_update(
            to_update[AuthenticationEmail],
            ["email", "prepopulated", "consent_recorded_at", "updated_at"],
        )
        Event.objects.bulk_create(events)
