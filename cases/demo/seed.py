"""The whole run of ``manage.py seed_demo_cases``: one transaction per day, resumable."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases.demo.history import DemoHistory
from cases.demo.mix import BATCH_SIZE, DEMO_DISTRICT, SHANGHAI, DemoCasesMissing
from cases.demo.rows import case_ids_reserve, cases_writer, fields_check
from cases.models import Case, CaseNumberCounter, CaseTransition
from gridcity.models import District

Progress = Callable[[str, int, int], None]


def history_as_of(end: date) -> datetime:
    """The moment the history is taken at: midnight starting ``end``, Asia/Shanghai."""
    return datetime(end.year, end.month, end.day, tzinfo=SHANGHAI)


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, or the first lists plan for empty tables."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Case._meta.db_table}, {CaseTransition._meta.db_table}")


def _demo_district(district: District | None) -> District:
    if district is not None:
        return district
    district = District.objects.filter(code=DEMO_DISTRICT).first()
    if district is None:
        raise DemoCasesMissing(
            f"There is no district {DEMO_DISTRICT}: run `manage.py seed_demo_city` first "
            "(it builds the demo city, its people and the case taxonomy)."
        )
    return district


def _days_to_write(history: DemoHistory, end: date, days: int) -> tuple[list[date], int]:
    """The days before ``end`` whose counter does not exist yet, and how many were skipped."""
    wanted = [end - timedelta(days=back) for back in range(days, 0, -1)]
    there = set(
        CaseNumberCounter.objects.filter(
            prefix__in=[history.prefix(d) for d in wanted]
        ).values_list("prefix", flat=True)
    )
    todo = [d for d in wanted if history.prefix(d) not in there]
    return todo, len(wanted) - len(todo)


def demo_cases_seed(
    *,
    days: int,
    per_day: int,
    seed: int = 2026,
    end: date | None = None,
    district: District | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write ``per_day`` cases for each of the ``days`` days before ``end`` (default today in
    Asia/Shanghai) in the demo district (or ``district``), with their timelines.

    Each day is one transaction holding its cases, timelines and case number counter; a day
    whose counter exists is skipped, so an interrupted run continues where it stopped when run
    again. Raises ``DemoCasesMissing`` when the district, its people or the taxonomy are not
    there, ``ValueError`` for counts out of range or an ``end`` after today.
    """
    if days < 1 or not 1 <= per_day <= 999_999:
        raise ValueError("days must be at least 1 and per_day between 1 and 999,999")
    today = timezone.localdate(timezone=SHANGHAI)
    end = end or today
    if end > today:
        raise ValueError(f"end {end} is after today ({today}): history cannot be in the future")
    district = _demo_district(district)
    fields_check()
    history = DemoHistory(district, seed=seed)
    todo, skipped = _days_to_write(history, end, days)
    run = _Run(history, history_as_of(end), per_day, batch_size, progress)
    run.counts["days skipped"] = skipped
    run.total = len(todo) * per_day
    if progress:
        progress("cases", 0, run.total)
    for day in todo:
        run.day(day)
    if run.counts["cases"]:
        _analyze()
    return run.counts


class _Run:
    """The days of one run written one transaction each, with their counts and progress."""

    def __init__(self, history, as_of, per_day, batch_size, progress):
        self.history, self.as_of, self.per_day = history, as_of, per_day
        self.batch_size, self.progress = batch_size, progress
        self.counts = {"days written": 0, "days skipped": 0, "cases": 0, "steps": 0}
        self.total = 0
        self.write = cases_writer()

    def day(self, day: date) -> None:
        counts, per_day = self.counts, self.per_day
        with transaction.atomic():
            try:
                with transaction.atomic():
                    # First, so that a second run writing the same day at once waits here
                    # and then finds the day taken.
                    CaseNumberCounter.objects.create(prefix=self.history.prefix(day), last=per_day)
            except IntegrityError:
                counts["days skipped"] += 1
                self.total -= per_day
                return
            ids = case_ids_reserve(per_day)
            for batch in self.history.day_batches(day, per_day, ids, self.as_of, self.batch_size):
                self.write(batch)
                counts["cases"] += len(batch.cases)
                counts["steps"] += len(batch.steps)
                if self.progress:
                    self.progress("cases", counts["cases"], self.total)
        counts["days written"] += 1
