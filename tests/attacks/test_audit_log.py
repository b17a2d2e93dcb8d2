"""The audit log cannot be rewritten, not even by the application's own database role."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit.log import record
from audit.models import Event, EventKind


@pytest.fixture
def old_and_new(user):
    with time_machine.travel(timezone.now() - timedelta(days=500), tick=False):
        old = record(EventKind.SIGNED_IN, subject=user, actor=user)
    new = record(EventKind.SIGNED_IN, subject=user, actor=user)
    return old, new


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_row_can_be_changed(old_and_new):
    _old, new = old_and_new
    for change in ({"kind": EventKind.PASSWORD_RESET}, {"details": {"x": 1}}, {"ip": "1.2.3.4"}):
        with pytest.raises(DatabaseError), transaction.atomic():
            Event.objects.filter(pk=new.pk).update(**change)
    assert Event.objects.get(pk=new.pk).kind == EventKind.SIGNED_IN


@pytest.mark.postgres
@pytest.mark.django_db
def test_recent_rows_cannot_be_deleted(old_and_new):
    _old, new = old_and_new
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=new.pk).delete()
    assert Event.objects.filter(pk=new.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_deleting_an_account_keeps_its_events(old_and_new, user):
    user.delete()
    assert Event.objects.count() == 2
    assert set(Event.objects.values_list("subject_id", flat=True)) == {None}


@pytest.mark.django_db
def test_the_retention_job_removes_only_old_rows(old_and_new, capsys):
    old, new = old_and_new
    call_command("purge_audit", "--dry-run")
    assert "1 event older than 400 days would be deleted" in capsys.readouterr().out
    call_command("purge_audit")
    assert list(Event.objects.values_list("pk", flat=True)) == [new.pk]
    with pytest.raises(CommandError, match="at least 90 days"):
        call_command("purge_audit", "--days", "10")
    with pytest.raises(CommandError, match="at most 36,500"):
        call_command("purge_audit", "--days", "100000000", "--dry-run")
