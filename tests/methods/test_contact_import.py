"""Bulk import of contact information: the command and the admin upload."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from audit.models import Event, EventKind
from methods.contact_import import import_contact_info
from methods.models import AuthenticationEmail, AuthenticationPhone, OfficePhone

pytestmark = pytest.mark.django_db

HEADER = "username,office_phone,authentication_phone,authentication_email,consent\n"


def run(tmp_path, text: str | bytes, *args: str):
    path = tmp_path / "contacts.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_contact_info", str(path), *args, stdout=out, stderr=err)
        error = None
    except CommandError as exc:
        error = str(exc)
    return out.getvalue(), err.getvalue(), error


@pytest.fixture
def people(make_user):
    return [make_user(name, password=None) for name in ("ann", "ben", "cat")]


def test_good_rows_are_imported_and_prepopulated_values_wait_for_the_user(tmp_path, people):
    text = HEADER + (
        "ann,+44 20 7183 8750,+447400123456,ann.home@example.net,yes\n"
        "ben,+442071838751,,,no\n"
        "\n"  # a blank line is no row, in the progress's total too
        "cat,,+14155552671,,true\n\n"
    )
    out, err, error = run(tmp_path, text)
    assert error is None, out
    assert "3 rows: 3 applied" in out
    assert "3 / 3 rows checked" in err
    ann = people[0]
    assert str(OfficePhone.objects.get(user=ann).number) == "+442071838750"
    phone = AuthenticationPhone.objects.get(user=ann)
    assert str(phone.number) == "+447400123456"
    assert phone.prepopulated and phone.verified_at is None and phone.consent_recorded_at
    assert AuthenticationEmail.objects.get(user=ann).email == "ann.home@example.net"
    assert not AuthenticationPhone.objects.filter(user=people[1]).exists()
    assert Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).count() == 3
    details = Event.objects.get(kind=EventKind.CONTACT_IMPORTED, subject=ann).details
    assert details == {"fields": ["office_phone", "authentication_phone", "authentication_email"]}


def test_rerunning_the_same_file_changes_nothing(tmp_path, people):
    text = HEADER + "ann,+442071838750,+447400123456,ann.home@example.net,yes\n"
    run(tmp_path, text)
    events = Event.objects.count()
    out, _err, error = run(tmp_path, text)
    assert error is None
    assert "0 applied" in out and "1 unchanged" in out
    assert Event.objects.count() == events


def test_bad_rows_are_reported_with_line_column_and_reason_and_skipped(tmp_path, people):
    text = HEADER + (
        "ann,+442071838750,,,no\n"  # good: line 2
        "nobody,+442071838751,,,no\n"  # line 3
        "ben,12,,,no\n"  # line 4
        "cat,,+447400123456,,no\n"  # line 5: no consent
        "cat,,,not-an-email,yes\n"  # line 6: duplicate and bad email
        ",+442071838752,,,\n"  # line 7
        "ben,,,,maybe\n"  # line 8
        "ben,,+449090901234,,yes\n"  # line 9
    )
    out, _err, error = run(tmp_path, text)
    assert "rows were not imported" in error
    for expected in (
        "line 3, column username: no such user",
        "line 4, column office_phone: not a phone number",
        "line 5, column consent: must be yes",
        "line 6, column username: already on line 5",
        "line 6, column authentication_email: not an email address",
        "line 7, column username: missing",
        "line 8, column consent: use yes or no",
        "line 9, column authentication_phone: premium-rate",
    ):
        assert expected in out, expected
    assert list(OfficePhone.objects.values_list("user__username", flat=True)) == ["ann"]
    assert not AuthenticationPhone.objects.exists()


def test_dry_run_changes_nothing(tmp_path, people):
    out, _err, error = run(tmp_path, HEADER + "ann,+442071838750,+447400123456,,yes\n", "--dry-run")
    assert error is None
    assert "1 would be applied" in out and "Dry run: nothing was changed." in out
    assert not OfficePhone.objects.exists() and not AuthenticationPhone.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (b"name,phone\nann,1\n", "Unexpected header"),
        (HEADER.encode() + "ann,,,ann@exämple.net,yes\n".encode("latin-1"), "line 2 is not UTF-8"),
    ],
)
def test_unusable_files_change_nothing_and_say_why(tmp_path, people, content, message):
    _out, _err, error = run(tmp_path, content)
    assert message in error
    assert not OfficePhone.objects.exists() and not AuthenticationEmail.objects.exists()


def test_utf8_with_byte_order_mark_and_windows_line_ends(tmp_path, people):
    content = "\ufeff" + HEADER.replace("\n", "\r\n") + "ann,+442071838750,,,no\r\n"
    _out, _err, error = run(tmp_path, content.encode("utf-8"))
    assert error is None
    assert OfficePhone.objects.filter(user=people[0]).exists()


def test_a_value_the_user_verified_is_kept(tmp_path, people):
    AuthenticationPhone.objects.create(
        user=people[0], number="+447400999999", verified_at=timezone.now()
    )
    out, _err, error = run(tmp_path, HEADER + "ann,,+447400123456,,yes\n")
    assert error is None
    assert "kept: line 2, column authentication_phone: kept the value the user verified" in out
    assert str(AuthenticationPhone.objects.get(user=people[0]).number) == "+447400999999"


def test_a_prepopulated_value_not_yet_confirmed_is_updated(tmp_path, people):
    run(tmp_path, HEADER + "ann,,+447400123456,,yes\n")
    run(tmp_path, HEADER + "ann,,+447400654321,,yes\n")
    assert str(AuthenticationPhone.objects.get(user=people[0]).number) == "+447400654321"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot open"):
        call_command("import_contact_info", str(tmp_path / "nope.csv"))


def test_batches_are_applied_in_separate_transactions(tmp_path, make_user):
    for index in range(25):
        make_user(f"user{index}", password=None)
    rows = "".join(f"user{index},+4420718387{index:02d},,,no\n" for index in range(25))
    out, err, error = run(tmp_path, HEADER + rows, "--batch-size", "10")
    assert error is None and "25 applied" in out
    assert "10 / 25" in err and "20 / 25" in err and "25 / 25" in err
    assert OfficePhone.objects.count() == 25


def test_query_count_per_batch_is_constant(tmp_path, make_user, django_assert_max_num_queries):
    for index in range(40):
        make_user(f"user{index}", password=None)
    rows = "".join(f"user{index},+4420718387{index:02d},,,no\n" for index in range(40))
    stream = io.BytesIO((HEADER + rows).encode())
    with django_assert_max_num_queries(20):
        report = import_contact_info(stream, batch_size=40)
    assert report.created == 40


def test_admin_upload_runs_the_same_import(admin_client, people):
    page = admin_client.get("/admin/auth/user/import-contact-info/").content.decode()
    assert "consent" in page
    upload = io.BytesIO((HEADER + "ann,+442071838750,,,no\nzed,,,,no\n").encode())
    upload.name = "contacts.csv"
    response = admin_client.post(
        "/admin/auth/user/import-contact-info/", {"file": upload, "dry_run": ""}
    )
    page = response.content.decode()
    assert "2 rows: 1 applied, 0 unchanged." in page
    assert "1 row has problems (1 in all) and is not imported." in page
    assert "line 3, column username: no such user" in page
    assert OfficePhone.objects.filter(user=people[0]).exists()
    event = Event.objects.get(kind=EventKind.CONTACT_IMPORTED)
    assert event.actor == admin_client.admin and event.ip == "127.0.0.1"  # where it came from


def test_admin_upload_dry_run_then_apply_without_uploading_again(admin_client, people):
    rows = "ann,+442071838750,,,no\nzed,,,,no\nbob,12,+12,nope,maybe\n"
    upload = io.BytesIO((HEADER + rows).encode())
    upload.name = "contacts.csv"
    url = "/admin/auth/user/import-contact-info/"
    page = admin_client.post(url, {"file": upload, "dry_run": "on"}).content.decode()
    assert "Nothing was changed" in page and not OfficePhone.objects.exists()
    # Rows and problems counted apart: two rows are refused, for four reasons between them.
    assert "2 rows have problems (" in page
    token = re.search(r'name="apply" value="([^"]+)"', page).group(1)
    # Someone else's token, or a replay after applying, applies nothing.
    assert "no longer available" in admin_client.post(url, {"apply": "x" + token}).content.decode()
    page = admin_client.post(url, {"file": io.BytesIO(b"x"), "dry_run": "on"}).content.decode()
    upload = io.BytesIO((HEADER + rows).encode())
    upload.name = "contacts.csv"
    page = admin_client.post(url, {"file": upload, "dry_run": "on"}).content.decode()
    token = re.search(r'name="apply" value="([^"]+)"', page).group(1)
    page = admin_client.post(url, {"apply": token}).content.decode()
    assert "3 rows: 1 applied, 0 unchanged." in page
    assert OfficePhone.objects.filter(user=people[0]).exists()
    assert "no longer available" in admin_client.post(url, {"apply": token}).content.decode()


def test_import_page_needs_permission(client, make_user):
    staff = make_user("viewer", staff=True)
    client.force_login(staff)
    session = client.session
    session.pop("sspr_check_registration", None)
    session.save()
    assert client.get("/admin/auth/user/import-contact-info/").status_code == 403


def _mixed_file(count: int) -> str:
    """Good rows, unknown users, bad numbers, duplicates and missing consent, interleaved."""
    lines = []
    for index in range(count):
        kind = index % 6
        if kind == 0:
            lines.append(f"user{index},+4420718{index:05d},,u{index}@home.example,yes")
        elif kind == 1:
            lines.append(f"ghost{index},+4420718{index:05d},,,no")
        elif kind == 2:
            lines.append(f"user{index},12,,,no")
        elif kind == 3:
            lines.append(f"user{index - 3},,,,no")  # the user of three lines up, again
        elif kind == 4:
            lines.append(f"user{index},,+447400{index:06d},,no")
        else:
            lines.append(f"user{index},,+449090901234,,yes")
    return HEADER + "\n".join(lines) + "\n"


def _outcome(report):
    stored = sorted(OfficePhone.objects.values_list("user__username", "number"))
    emails = sorted(AuthenticationEmail.objects.values_list("user__username", "email"))
    return (
        [str(problem) for problem in report.errors],
        (report.rows, report.created, report.updated, report.unchanged),
        stored,
        emails,
        Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).count(),
    )


def test_worker_processes_check_a_large_file_with_the_same_outcome(make_user, monkeypatch):
    from django.db import transaction

    from methods import contact_import

    for index in range(0, 120, 6):
        make_user(f"user{index}", password=None)
    for index in range(2, 120, 6):
        make_user(f"user{index}", password=None)
    for index in range(4, 120, 6):
        make_user(f"user{index}", password=None)
    text = _mixed_file(120).encode()

    def outcome(parallel_from):
        monkeypatch.setattr(contact_import, "PARALLEL_FROM", parallel_from)
        monkeypatch.setattr(contact_import, "CHUNK", 7)  # many chunks, out of step with batches
        monkeypatch.setattr(
            contact_import, "_workers", lambda total: 2 if total >= parallel_from else 0
        )
        sid = transaction.savepoint()
        report = import_contact_info(io.BytesIO(text), batch_size=25)
        result = _outcome(report)
        transaction.savepoint_rollback(sid)
        return result

    alone, in_workers = outcome(10**9), outcome(10)
    assert in_workers == alone
    problems, counts, stored, emails, events = in_workers
    assert counts[0] == 120 and counts[1] == 20 and stored and len(emails) == 20 and events == 20
    assert "line 5, column username: already on line 2" in problems[2]  # kept in file order
    assert any("line 4, column office_phone: not a phone number" in p for p in problems)
    assert any("line 3, column username: no such user" in p for p in problems)


def _dry_run(admin_client, rows: str, url="/admin/auth/user/import-contact-info/") -> str:
    upload = io.BytesIO((HEADER + rows).encode())
    upload.name = "contacts.csv"
    return admin_client.post(url, {"file": upload, "dry_run": "on"}).content.decode()


def _token(page: str) -> str:
    return re.search(r'name="apply" value="([^"]+)"', page).group(1)


def test_applying_a_checked_file_that_is_gone_says_so_and_changes_nothing(admin_client, people):
    """The kept file was swept after its hour: a clear message, never a server error, and the
    same key again says the same."""
    from registration.models import CheckedImport

    url = "/admin/auth/user/import-contact-info/"
    token = _token(_dry_run(admin_client, "ann,+442071838750,,,no\n"))
    CheckedImport.objects.all().delete()
    for _attempt in range(2):
        response = admin_client.post(url, {"apply": token})
        assert response.status_code == 200
        page = response.content.decode()
        assert "That checked file is no longer available" in page
        assert "kept for an hour, until it is applied" in page
    assert not OfficePhone.objects.exists()
    assert not Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).exists()


def test_a_checked_file_is_applied_from_whichever_web_host_the_next_request_reaches(
    admin_client, people, settings, tmp_path
):
    """Several hosts share the database, not their disks: the checked file is kept in the
    database, and the apply reads nothing of the checking host's folders."""
    url = "/admin/auth/user/import-contact-info/"
    for host in ("one", "two"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path / host)},
            },
        }
        if host == "one":
            token = _token(_dry_run(admin_client, "ann,+442071838750,,,no\n"))
    page = admin_client.post(url, {"apply": token}).content.decode()
    assert "1 row: 1 applied, 0 unchanged." in page
    assert OfficePhone.objects.get(user=people[0]).number == "+442071838750"
    assert not any(path.is_file() for path in tmp_path.rglob("*"))  # nothing left on a disk


def test_a_checked_file_is_kept_sealed_its_key_nowhere_and_removed_when_applied_or_an_hour_old(
    admin_client, people
):
    from datetime import timedelta

    from registration.models import CheckedImport

    url = "/admin/auth/user/import-contact-info/"
    token = _token(_dry_run(admin_client, "ann,+442071838750,,,no\n"))
    (kept,) = CheckedImport.objects.all()
    assert kept.owner == admin_client.admin and kept.name == "contacts.csv"
    # The rows are sealed, and the key that applies them is on the page alone.
    stored = repr(list(CheckedImport.objects.values_list()))
    assert "ann" not in stored and "2071838750" not in stored and token not in stored
    assert token not in repr(dict(admin_client.session))
    admin_client.post(url, {"apply": token})
    assert OfficePhone.objects.filter(user=people[0]).exists()
    assert not CheckedImport.objects.exists()  # removed once applied

    # A dry run never applied (the administrator signed out) is removed after its hour, at
    # the next import, whoever makes it.
    _dry_run(admin_client, "ben,+442071838751,,,no\n")
    CheckedImport.objects.update(created_at=timezone.now() - timedelta(hours=1, seconds=1))
    admin_client.logout()
    other = Client()
    other.force_login(admin_client.admin)
    session = other.session
    session.pop("sspr_check_registration", None)
    session.save()
    _dry_run(other, "cat,+442071838752,,,no\n")
    assert list(CheckedImport.objects.values_list("name", flat=True)) == ["contacts.csv"]
    assert CheckedImport.objects.get().created_at > timezone.now() - timedelta(minutes=1)


def test_a_checked_file_is_applied_once_and_only_in_the_session_that_checked_it(
    admin_client, people, make_user
):
    from registration import checked_imports

    token = _token(_dry_run(admin_client, "ann,+442071838750,,,no\n"))
    session = dict(admin_client.session)
    # Another administrator who learned the key, from their own session, gets nothing.
    other = make_user("other-admin", staff=True, is_superuser=True)
    assert checked_imports.take({}, other, token) is None
    assert checked_imports.take(dict(session), other, token) is None
    # Two tabs of the same session send the same key: one of them takes the file.
    first, second = dict(session), dict(session)
    assert checked_imports.take(first, admin_client.admin, token).startswith(HEADER.encode())
    assert checked_imports.take(second, admin_client.admin, token) is None


def test_a_file_too_large_to_keep_is_checked_but_not_offered_for_applying(
    admin_client, people, monkeypatch
):
    from registration import checked_imports
    from registration.models import CheckedImport

    monkeypatch.setattr(checked_imports, "MAX_KEPT_BYTES", len(HEADER) + 10)
    page = _dry_run(admin_client, "ann,+442071838750,,,no\n")
    assert "Dry run: 1 row checked; 1 would be applied" in page
    assert "too large to keep for applying later" in page
    assert 'name="apply"' not in page
    assert not CheckedImport.objects.exists() and not OfficePhone.objects.exists()


def test_a_file_sealed_under_a_key_no_longer_listed_is_no_longer_available(
    admin_client, people, settings
):
    token = _token(_dry_run(admin_client, "ann,+442071838750,,,no\n"))
    settings.SSPR_FIELD_KEYS = ["a-new-key-without-the-old-one"]
    page = admin_client.post(
        "/admin/auth/user/import-contact-info/", {"apply": token}
    ).content.decode()
    assert "That checked file is no longer available" in page
    assert not OfficePhone.objects.exists()


def test_a_list_cut_short_says_how_many_problems_are_not_listed(admin_client, people):
    rows = "".join(f"ghost{index},,,,no\n" for index in range(503))
    page = _dry_run(admin_client, rows)
    assert "line 501, column username: no such user" in page  # rows from line 2
    assert "line 502, column" not in page
    assert "…and 3 more problems, not listed here." in page


def test_one_row_reads_in_the_singular(admin_client, people):
    page = _dry_run(admin_client, "ann,+442071838750,,,no\n")
    assert "Dry run: 1 row checked; 1 would be applied, 0 unchanged." in page
    page = admin_client.post(
        "/admin/auth/user/import-contact-info/", {"apply": _token(page)}
    ).content.decode()
    assert "1 row: 1 applied, 0 unchanged." in page


def test_lines_ended_by_a_carriage_return_alone_are_read(tmp_path, people):
    """Old Mac and Excel files end their lines with a carriage return alone."""
    text = HEADER + "ann,+442071838750,,,no\nben,+442071838751,,,no\nzed,,,,no\n"
    out, _err, error = run(tmp_path, text.replace("\n", "\r"))
    assert "line 4, column username: no such user" in out
    assert "3 rows: 2 applied" in out
    assert sorted(OfficePhone.objects.values_list("user__username", flat=True)) == ["ann", "ben"]


def test_a_username_too_long_is_reported_once(tmp_path, people):
    out, _err, error = run(tmp_path, HEADER + "x" * 255 + ",+442071838750,,,no\n")
    assert "line 2, column username: longer than 254 characters" in out
    assert "missing" not in out
    assert not OfficePhone.objects.exists()


@pytest.mark.parametrize("cell", ["b\x00en", "b\x1ben"])
def test_a_control_character_in_a_cell_is_reported_against_its_line(tmp_path, people, cell):
    """A NUL byte once reached the database (PostgreSQL refuses it) after earlier batches were
    stored; now it is the row's problem, like any other."""
    text = HEADER + f"ann,+442071838750,,,no\n{cell},+442071838751,,,no\n"
    out, _err, error = run(tmp_path, text, "--batch-size", "1")
    assert "line 3, column username: contains a control character" in out
    assert "missing" not in out
    assert list(OfficePhone.objects.values_list("user__username", flat=True)) == ["ann"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_file_larger_than_the_page_takes_is_refused_and_sent_to_the_command(
    admin_client, people, monkeypatch, dry_run
):
    """A file that would keep a web worker past its time limit is not read at all: nothing
    is imported, and the page names the command."""
    from registration import checked_imports

    monkeypatch.setattr(checked_imports, "MAX_UPLOAD_BYTES", len(HEADER) + 10)
    upload = io.BytesIO((HEADER + "ann,+442071838750,,,no\n").encode())
    upload.name = "contacts.csv"
    data = {"file": upload} | ({"dry_run": "on"} if dry_run else {})
    page = admin_client.post("/admin/auth/user/import-contact-info/", data).content.decode()
    assert "more than the" in page and "manage.py import_contact_info FILE" in page
    assert not OfficePhone.objects.exists()
    assert not Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).exists()


def test_a_column_named_twice_stops_the_import(tmp_path, people):
    out, _err, error = run(tmp_path, "username,username,office_phone\nann,ben,+442071838750\n")
    assert error and "The header names username more than once" in error
    assert not OfficePhone.objects.exists()


def test_the_accounts_own_address_or_one_too_long_once_canonical_is_refused(tmp_path, make_user):
    """The account's own address (in other capitals) cannot recover it; an address whose
    domain grows past 254 characters in canonical form (each capital İ lower-cases to two)
    would not fit. Each is reported on its line, and nothing of that row is stored."""
    make_user("ann", password=None, email="ann@example.org")
    make_user("ben", password=None)
    long = "a" * 60 + "@" + ".".join(["\u0130" * 10] * 10) + ".de"
    text = HEADER + f"ann,,,ANN@Example.ORG,yes\nben,,,{long},yes\n"
    out, _err, error = run(tmp_path, text)
    assert error == "2 rows were not imported; see above.", out
    assert "line 2, column authentication_email: the account's own address" in out
    assert "longer than 254 characters" in out
    assert not AuthenticationEmail.objects.exists()


def test_the_empty_cells_a_spreadsheet_leaves_after_the_last_column_are_no_error(tmp_path, people):
    """Saved from a spreadsheet, the header and the rows may end in empty cells: taken as the
    columns and rows they are. A cell after the last column that holds something is refused."""
    text = (
        "username,office_phone,authentication_phone,authentication_email,consent,,\n"
        "ann,,,ann.home@example.net,yes,,\n"
        "ben,,,ben.home@example.net,yes,,stray\n"
    )
    out, _err, error = run(tmp_path, text)
    assert "line 3: more cells than columns" in out, out
    assert AuthenticationEmail.objects.get(user=people[0]).email == "ann.home@example.net"
    assert not AuthenticationEmail.objects.filter(user=people[1]).exists()


def test_two_accounts_whose_names_differ_in_case_are_two_people(tmp_path, make_user):
    """Django's own accounts tell "alice" and "Alice" apart, as sign-in does: each gets their
    row (they were refused as the same person); a name given twice exactly still is."""
    lower, upper = make_user("alice", password=None), make_user("Alice", password=None)
    text = HEADER + (
        "alice,,,alice.home@example.net,yes\n"
        "Alice,,,other.alice@example.net,yes\n"
        " alice ,,,third@example.net,yes\n"
    )
    out, _err, error = run(tmp_path, text)
    assert "line 4, column username: already on line 2" in out
    assert AuthenticationEmail.objects.get(user=lower).email == "alice.home@example.net"
    assert AuthenticationEmail.objects.get(user=upper).email == "other.alice@example.net"


def test_the_admin_refuses_the_accounts_own_address(admin_client, make_user):
    """On the user's page too: the account's own address, in other capitals, is refused
    beside the field, and nothing is stored."""
    from methods.admin import OWN_ADDRESS
    from tests.registration.test_admin_users import _user_page

    user = make_user("carol", password=None, email="carol@example.org")
    data = _user_page(user) | {
        "authentication_email-TOTAL_FORMS": "1",
        "authentication_email-INITIAL_FORMS": "0",
        "authentication_email-0-user": str(user.pk),
        "authentication_email-0-email": "Carol@EXAMPLE.org",
        "authentication_email-0-user_agreed": "on",
    }
    response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 200
    assert str(OWN_ADDRESS).replace("'", "&#39;") in response.content.decode()
    assert not AuthenticationEmail.objects.exists()


def test_the_admin_refuses_the_accounts_address_changed_to_the_authentication_one(
    admin_client, make_user
):
    """The other way round: the account's own address changed to the verified authentication
    address it holds is refused too, beside that address, and nothing is stored."""
    from django.utils import timezone

    from methods.admin import OWN_ADDRESS
    from tests.registration.test_admin_users import _user_page

    user = make_user("carol", password=None, email="carol@example.org")
    held = AuthenticationEmail.objects.create(
        user=user, email="carol.home@example.net", verified_at=timezone.now()
    )

    def page_with_both_addresses(**changes):
        """The person's page sent with the account's address the authentication one."""
        return _user_page(user) | {
            "email": "carol.home@example.net",
            "authentication_email-TOTAL_FORMS": "1",
            "authentication_email-INITIAL_FORMS": "1",
            "authentication_email-0-id": str(held.pk),
            "authentication_email-0-user": str(user.pk),
            "authentication_email-0-email": "carol.home@example.net",
            **changes,
        }

    response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", page_with_both_addresses())
    assert response.status_code == 200
    assert str(OWN_ADDRESS).replace("'", "&#39;") in response.content.decode()
    user.refresh_from_db()
    assert user.email == "carol@example.org"
    # A pair stored before (by a release that did not check this way round) does not hold
    # back another change of the page: told when either address changes.
    type(user).objects.filter(pk=user.pk).update(email="carol.home@example.net")
    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/change/", page_with_both_addresses(first_name="Carol")
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.first_name == "Carol"


def test_a_number_with_an_extension_is_reported_not_cut_short(tmp_path, people):
    """Stored without its extension, the number would ring a switchboard with the code."""
    out, _err, error = run(tmp_path, HEADER + "ann,+44 20 7183 8750 ext. 123,,,yes\n")
    assert error is not None, out
    assert "has an extension; give a direct line without it" in out
    assert not OfficePhone.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        'ann,+442071838750,,,\nben,"+442071838751,,,\ncat,+442071838752,,,\n',
        'ann,+442071838750,,,\nben,+442071838751,,"x@y.org,yes\ncat,+442071838752,,,\n',
        'ann,+442071838750,,,\r\nben,+442071838751,,,"\r\ncat,+442071838752,,,\r\n',
    ],
)
def test_a_quote_left_open_stops_the_import_naming_its_line(tmp_path, people, body):
    """It would take the lines after it into one cell, whose rows then went unreported."""
    _out, _err, error = run(tmp_path, HEADER + body)
    assert error is not None and "line 3 opens a quote that is not closed" in error
    assert not OfficePhone.objects.exists()


def test_a_long_list_of_values_kept_is_cut_short_and_says_so(admin_client, make_user):
    """A file naming many people whose addresses they verified themselves: the page lists as
    many kept values as problems at most, and says how many more there are."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"kept{index:03d}") for index in range(503)
    )
    AuthenticationEmail.objects.bulk_create(
        AuthenticationEmail(
            user=user, email=f"{user.username}@home.example", verified_at=timezone.now()
        )
        for user in users
    )
    rows = "".join(f"kept{index:03d},,,other{index}@example.net,yes\n" for index in range(503))
    page = _dry_run(admin_client, rows)
    assert page.count("kept the value the user verified") == 500
    assert "…and 3 more values kept, not listed here." in page


def _after_the_read(monkeypatch, change, times: int = 1) -> None:
    """`change` happens right after the import reads what is stored for a batch, the first
    `times` reads: a person adding or verifying a method while the batch is checked."""
    from methods import contact_import

    read, reads = contact_import._stored_values, []

    def racing(usernames):
        stored = read(usernames)
        reads.append(usernames)
        if len(reads) <= times:
            change(len(reads))
        return stored

    monkeypatch.setattr(contact_import, "_stored_values", racing)


def test_a_phone_the_person_adds_during_the_import_is_theirs(tmp_path, people, monkeypatch):
    ann = people[0]
    _after_the_read(
        monkeypatch,
        lambda _n: AuthenticationPhone.objects.create(
            user=ann, number="+447400999888", verified_at=timezone.now()
        ),
    )
    out, _err, error = run(tmp_path, HEADER + "ann,,+447400123456,,yes\nben,,+447400123457,,yes\n")
    assert error is None, out
    assert "1 applied" in out and "kept the value the user verified" in out
    phone = AuthenticationPhone.objects.get(user=ann)
    assert str(phone.number) == "+447400999888" and not phone.prepopulated
    assert str(AuthenticationPhone.objects.get(user=people[1]).number) == "+447400123457"
    imported = Event.objects.filter(kind=EventKind.CONTACT_IMPORTED)
    assert list(imported.values_list("subject__username", flat=True)) == ["ben"]


def test_a_value_verified_during_the_import_is_neither_replaced_nor_moved(
    tmp_path, people, monkeypatch
):
    """The person confirms the number an administrator entered while a new file changes it:
    the number they proved stays, and no unproven number is marked as verified."""
    ann = people[0]
    AuthenticationPhone.objects.create(user=ann, number="+447400111222", prepopulated=True)
    _after_the_read(
        monkeypatch,
        lambda _n: AuthenticationPhone.objects.filter(user=ann).update(verified_at=timezone.now()),
    )
    out, _err, error = run(tmp_path, HEADER + "ann,,+447400123456,,yes\n")
    assert error is None, out
    assert "0 applied" in out and "kept the value the user verified" in out
    phone = AuthenticationPhone.objects.get(user=ann)
    assert str(phone.number) == "+447400111222" and phone.verified_at is not None
    assert not Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).exists()


def test_a_batch_whose_people_keep_changing_stops_the_import_after_the_batches_before(
    tmp_path, make_user, monkeypatch
):
    users = [make_user(f"user{n}", password=None) for n in range(4)]

    def add_one(n):
        if n > 1:  # the first batch goes through; the second meets a new phone at every try
            AuthenticationPhone.objects.filter(user=users[3]).delete()
            AuthenticationPhone.objects.create(user=users[3], number=f"+44740099988{n}")

    _after_the_read(monkeypatch, add_one, times=4)
    rows = "".join(f"user{n},,+4474001234{n:02d},,yes\n" for n in range(4))
    out, _err, error = run(tmp_path, HEADER + rows, "--batch-size", "2")
    assert error == (
        "The contact details of the people on lines 4 to 5 kept changing while they were "
        "imported, so they were not; the lines before them were. Import the file again."
    )
    assert set(
        AuthenticationPhone.objects.filter(prepopulated=True).values_list(
            "user__username", flat=True
        )
    ) == {"user0", "user1"}
    assert Event.objects.filter(kind=EventKind.CONTACT_IMPORTED).count() == 2
