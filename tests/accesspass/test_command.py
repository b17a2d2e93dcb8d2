"""`manage.py issue_access_pass` for new starters: each pass printed once (or written to a file
only its owner can read), progress and a summary, administrator accounts only with a Helpdesk
administrator's approval."""

from __future__ import annotations

import datetime
import io
import stat

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accesspass.models import AccessPass
from audit.models import Event, EventKind
from tests.support.access_passes import PASS_PATTERN, use_pass

pytestmark = pytest.mark.django_db


def run(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_access_pass", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def passes_in(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        name, value, _expires = line.split("\t")
        assert PASS_PATTERN.search(f"<code>{value}</code>")
        found[name] = value
    return found


def test_prints_each_pass_once_and_they_sign_in(make_user):
    for name in ("nia", "noah"):
        make_user(name)
    out, err = run("nia", "noah")
    passes = passes_in(out)
    assert set(passes) == {"nia", "noah"}
    assert "2 passes issued." in err and "2 / 2 done" in err
    assert use_pass(Client(), "noah", passes["noah"]).status_code == 302
    item = AccessPass.objects.get(user__username="nia")
    assert item.verification == "onboarding" and item.requested_by is None
    assert Event.objects.filter(kind=EventKind.ACCESS_PASS_ISSUED).count() == 2


def test_one_person_named_twice_gets_one_pass_that_works(make_user, tmp_path):
    """The same name written twice, once with a stray space and once in full-width letters
    from the file: one pass, the one printed, which signs in (a second would end the first)."""
    make_user("nia")
    listing = tmp_path / "starters.txt"
    listing.write_text("ｎｉａ\n")
    out, err = run("nia", "nia ", from_file=str(listing))
    passes = passes_in(out)
    assert list(passes) == ["nia"]
    assert "1 pass issued." in err
    assert use_pass(Client(), "nia", passes["nia"]).status_code == 302


def test_no_file_is_left_when_every_name_was_refused(make_user, tmp_path):
    """Nothing issued: no file of headings only stands in the way of the command run again
    once the names are put right."""
    make_user("nia")
    output = tmp_path / "passes.csv"
    with pytest.raises(CommandError):
        run("nobody", output=str(output))
    assert not output.exists()
    _out, err = run("nia", output=str(output))
    assert "1 pass issued (written to" in err and output.exists()


def test_a_name_a_spreadsheet_would_compute_is_written_as_text(make_user, tmp_path):
    make_user("+2+3")
    output = tmp_path / "passes.csv"
    run("+2+3", output=str(output))
    assert output.read_text().splitlines()[1].startswith("'+2+3,")


def test_from_a_file_to_a_file_only_its_owner_can_read(make_user, tmp_path):
    names = [f"starter{n}" for n in range(5)]
    for name in names:
        make_user(name)
    listing = tmp_path / "starters.txt"
    listing.write_text("# this week's starters\n" + "\n".join(names) + "\n\n")
    output = tmp_path / "passes.csv"
    out, err = run(from_file=str(listing), output=str(output), lifetime=480)
    assert out == ""  # nothing on the screen
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    lines = output.read_text().splitlines()
    assert lines[0] == "username,pass,expires_at" and len(lines) == 6
    assert "5 passes issued (written to" in err
    item = AccessPass.objects.get(user__username="starter3")
    assert item.expires_at - item.issued_at == datetime.timedelta(hours=8)
    # An existing file is never overwritten (nor its mode trusted).
    with pytest.raises(CommandError, match="exists already"):
        run("starter1", output=str(output))
    assert output.read_text().splitlines() == lines


def test_unknown_and_privileged_names_are_refused_with_a_summary(make_user):
    make_user("nia")
    make_user("root", staff=True)
    with pytest.raises(CommandError, match="2 names were refused"):
        out, err = run("nia", "ghost", "root")
    item = AccessPass.objects.get(user__username="nia")
    assert item.issued_at is not None
    assert not AccessPass.objects.filter(user__username="root").exists()


def test_privileged_accounts_with_a_helpdesk_administrators_approval(make_user, approver):
    make_user("root", staff=True)
    make_user("agent2")
    with pytest.raises(CommandError, match="must name a Helpdesk administrator"):
        run("root", approved_by="agent2")
    out, err = run("root", approved_by="boss")
    assert "root" in passes_in(out)
    item = AccessPass.objects.get(user__username="root")
    assert item.approved_by == approver and item.needs_approval
    assert Event.objects.filter(kind=EventKind.ACCESS_PASS_APPROVED, actor=approver).exists()
    # Nobody approves a pass for themselves.
    with pytest.raises(CommandError):
        run("boss", approved_by="boss")


@pytest.mark.parametrize("minutes", ["9", "481", "an hour"])
def test_a_lifetime_outside_ten_minutes_to_eight_hours_is_refused(make_user, minutes):
    make_user("nia")
    with pytest.raises(CommandError, match="10 to 480"):
        call_command("issue_access_pass", "nia", "--lifetime", minutes)
    assert not AccessPass.objects.exists()


def test_nothing_named_is_an_error():
    with pytest.raises(CommandError):
        run()


def test_a_lifetime_typed_wrong_at_the_command_line_is_one_line_not_a_traceback():
    import subprocess
    import sys

    from django.conf import settings

    done = subprocess.run(
        [sys.executable, "manage.py", "issue_access_pass", "nia", "--lifetime", "abc"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "--lifetime must be a number of minutes from 10 to 480." in done.stderr
