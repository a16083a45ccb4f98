"""SQLite's one writer at a time: a locked write is run again, then refused as busy, never half
done; and the embedded default's connections are set up for it."""

import pytest
from django.db import OperationalError, connection, transaction

from gridcity import db


class Flaky:
    """A write that finds the database locked ``locked`` times, then goes through."""

    def __init__(self, locked: int, message: str = "database is locked"):
        self.locked = locked
        self.message = message
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.locked:
            raise OperationalError(self.message)
        return "written"


def test_a_write_that_finds_the_database_locked_is_run_again():
    write = Flaky(locked=2)

    assert db.write_retrying(write, attempts=3, pause=0) == "written"
    assert write.calls == 3


def test_a_write_locked_through_every_attempt_is_busy():
    write = Flaky(locked=10)

    with pytest.raises(db.DatabaseBusy):
        db.write_retrying(write, attempts=3, pause=0)
    assert write.calls == 3


def test_other_database_errors_are_not_retried():
    write = Flaky(locked=1, message="no such table: cases_case")

    with pytest.raises(OperationalError, match="no such table"):
        db.write_retrying(write, attempts=3, pause=0)
    assert write.calls == 1


@pytest.mark.django_db
def test_nothing_is_retried_inside_an_outer_transaction():
    write = Flaky(locked=1)

    with pytest.raises(OperationalError), transaction.atomic():
        db.write_retrying(write, attempts=3, pause=0)
    assert write.calls == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's SQLite options")
def test_sqlite_takes_the_write_lock_at_begin_and_waits_for_it(settings):
    options = settings.DATABASES["default"]["OPTIONS"]

    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]
