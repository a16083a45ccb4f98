"""seed_demo_cases: a case history written in bulk, checked case by case.

The history is written on the small test city, given the people and the taxonomy that
``seed_demo_city`` gives the demo city (the demo user names, the demo items), so the code that
seeds Bao'an runs here in seconds.
"""

import json
from collections import Counter
from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import CommandError, call_command
from django.db.models import Prefetch

from accounts.demo import demo_people_seed
from accounts.models import Department, User
from cases import services
from cases.calendar import calendar_current
from cases.demo import (
    CASE_FIELDS,
    STEP_FIELDS,
    SWEEP_SECONDS,
    DemoCasesMissing,
    DemoHistory,
    demo_cases_seed,
    history_as_of,
)
from cases.models import Case, CaseNumberCounter, CaseTransition, Item, Resolution, Source, Status
from cases.selectors import cases_overdue
from cases.services import case_report
from cases.taxonomy import taxonomy_load_file

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
END = date(2026, 11, 25)  # a Wednesday: the history is taken at the midnight starting it
DAYS, PER_DAY, SEED = 10, 60, 7
HISTORY_DAYS = [END - timedelta(days=back) for back in range(DAYS, 0, -1)]

# Timeline action → the FSM transition of Case it stands for.
TRANSITIONS = {
    "file": "file",
    "reject": "reject",
    "cancel": "cancel",
    "merge": "merge",
    "dispatch": "dispatch",
    "return": "return_",
    "redispatch": "redispatch",
    "accept": "accept",
    "handle": "handle",
    "request-verify": "request_verify",
    "close": "close",
    "suspend": "suspend",
    "resume": "resume",
}
MARKS = {"overdue", "escalate"}  # rows that record something without a change of state
COMMAND_CENTRE_STEPS = {
    "file",
    "reject",
    "merge",
    "dispatch",
    "redispatch",
    "request-verify",
    "close",
}


@pytest.fixture
def morning_of_end(time_machine):
    time_machine.move_to(datetime(END.year, END.month, END.day, 9, 0, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def city(small_city, morning_of_end):
    """The small city with the demo people and taxonomy, on the morning of END."""
    demo_people_seed(small_city.district)
    taxonomy_load_file()
    return small_city


def seed(city, **options):
    return demo_cases_seed(
        **{"district": city.district, "days": DAYS, "per_day": PER_DAY, "seed": SEED, "end": END}
        | options
    )


@pytest.fixture
def seeded(city):
    return seed(city)


def prefix(day: date) -> str:
    return f"999901-{day:%Y%m%d}"


def with_timelines():
    return Case.objects.select_related(
        "item", "grid__community__street", "department", "reporter", "verifier"
    ).prefetch_related(
        Prefetch(
            "timeline",
            CaseTransition.objects.select_related("actor").order_by("at", "id"),
            to_attr="steps",
        )
    )


def test_each_day_gets_its_cases_numbered_from_one_and_its_counter(seeded):
    assert seeded == {
        "days written": DAYS,
        "days skipped": 0,
        "cases": DAYS * PER_DAY,
        "steps": CaseTransition.objects.count(),
    }
    for day in HISTORY_DAYS:
        cases = Case.objects.filter(number__startswith=prefix(day))
        numbers = sorted(cases.values_list("number", flat=True))
        assert numbers == [f"{prefix(day)}-{n:06d}" for n in range(1, PER_DAY + 1)]
        assert CaseNumberCounter.objects.get(prefix=prefix(day)).last == PER_DAY
        reported = [
            c.astimezone(SHANGHAI).date() for c in cases.values_list("created_at", flat=True)
        ]
        assert set(reported) == {day}
    # Numbered in the order the reports came in.
    by_time = Case.objects.order_by("created_at", "id").values_list("number", flat=True)
    assert list(by_time) == sorted(by_time)


def test_a_report_after_the_history_continues_the_day_s_sequence(seeded, city, time_machine):
    last_day = HISTORY_DAYS[-1]
    time_machine.move_to(
        datetime(last_day.year, last_day.month, last_day.day, 15, 0, tzinfo=SHANGHAI)
    )
    grid = city.grids[0]
    spot = grid.geom.point_on_surface

    reported = case_report(
        by=User.objects.get(username=f"inspector-{grid.code}"),
        item=Item.objects.get(name="暴露垃圾"),
        lon=spot.x,
        lat=spot.y,
    )

    assert reported.case.number == f"{prefix(last_day)}-{PER_DAY + 1:06d}"
    assert CaseNumberCounter.objects.get(prefix=prefix(last_day)).last == PER_DAY + 1


def replay(case: Case) -> None:
    """Walk the case's timeline through the model's own transitions, from a fresh report."""
    first, *rest = case.steps
    assert (first.action, first.from_state, first.to_state) == ("report", "", Status.REPORTED)
    shadow = Case()
    previous = first.at
    for step in rest:
        assert step.at >= previous, f"{case.number}: {step.action} before the step it follows"
        previous = step.at
        assert step.from_state == shadow.status, f"{case.number}: {step.action}"
        if step.action in MARKS:
            assert step.to_state == step.from_state
            continue
        if step.action == "verify":
            name = "verify_pass" if step.detail["passed"] else "verify_fail"
        else:
            name = TRANSITIONS[step.action]
        getattr(shadow, name)()  # django-fsm refuses a transition its source does not allow
        assert shadow.status == step.to_state, f"{case.number}: {step.action}"
    assert shadow.status == case.status, case.number
    assert case.updated_at == case.steps[-1].at


def test_every_timeline_is_a_path_of_the_workflow_ending_in_the_case_s_status(seeded):
    for case in with_timelines():
        replay(case)


def test_each_step_is_taken_by_the_person_who_really_takes_it(seeded):
    for case in with_timelines():
        grid = case.grid
        for step in case.steps:
            by = step.actor.username if step.actor else None
            if step.action == "report":
                assert step.actor_id == case.reporter_id
            elif step.action in COMMAND_CENTRE_STEPS:
                assert by == "dispatcher"
            elif step.action == "cancel":
                assert by in ("dispatcher", case.reporter and case.reporter.username)
            elif step.action == "return":
                assert by == f"staff-{step.detail['department']}"
            elif step.action in ("accept", "handle"):
                assert by == f"staff-{case.department.code}"
                assert step.action == "accept" or step.location is not None
            elif step.action == "verify":
                assert by == f"inspector-{grid.code}" == case.verifier.username
            elif step.action in ("suspend", "resume"):
                assert by == f"supervisor-{grid.community.street.code}"
            elif step.action == "overdue":
                assert by is None and step.detail["escalated"] in (True, False)
        if case.source == Source.INSPECTOR:
            assert case.reporter.username == f"inspector-{grid.code}"
            assert case.client_uuid is not None
        if case.department_id:
            expected = case.item.department or f"jd-{grid.community.street.code}"
            assert case.department.code == getattr(expected, "code", expected)


def test_cases_lie_in_their_grid_within_its_community_street_and_district(seeded, city):
    for case in Case.objects.select_related("grid__community__street"):
        assert case.grid.geom.contains(case.point), case.number
        assert case.community_id == case.grid.community_id
        assert case.street_id == case.grid.community.street_id
        assert case.district_id == city.district.id


def test_deadlines_come_from_the_working_calendar_and_never_precede_their_step(seeded):
    calendar = calendar_current()

    def due(start, case, stage):
        return calendar.deadline(start, *case.item.limit(stage))

    exact = 0
    for case in with_timelines():
        actions = {s.action for s in case.steps}
        assert case.file_due >= case.created_at
        if case.filed_at:
            assert case.dispatch_due >= case.filed_at
        if case.dispatched_at:
            assert case.handle_due >= case.dispatched_at
        if case.verify_due:
            asked = max(s.at for s in case.steps if s.action == "request-verify")
            assert case.verify_due >= asked
        if case.closed_on_time is not None:
            assert case.closed_on_time == (case.handled_at <= case.handle_due)
        if actions & {"resume", "return"} or case.rework_count:
            continue  # these move deadlines on, as the services do
        assert case.file_due == due(case.created_at, case, "file")
        if case.filed_at:
            assert case.dispatch_due == due(case.filed_at, case, "dispatch")
        if case.dispatched_at:
            assert case.handle_due == due(case.dispatched_at, case, "handle")
            exact += 1
    assert exact > DAYS * PER_DAY / 2


def test_the_overdue_marks_are_those_the_sweep_would_have_made(seeded):
    for case in with_timelines():
        marks = [s for s in case.steps if s.action == "overdue"]
        for mark in marks:
            assert datetime.fromisoformat(mark.detail["due"]) < mark.at
        assert case.escalated == bool(marks)
        assert not case.overdue or case.escalated
    # Nothing was left for the sweep to mark when the history was taken.
    assert not cases_overdue(history_as_of(END) - timedelta(seconds=SWEEP_SECONDS)).exists()
    marked = Case.objects.filter(escalated=True).count() / Case.objects.count()
    assert 0.02 <= marked <= 0.15


def test_old_cases_are_mostly_closed_and_the_last_days_are_still_open(seeded):
    taken = history_as_of(END)
    old = Case.objects.filter(created_at__lt=taken - timedelta(days=7))
    statuses = Counter(old.values_list("status", flat=True))
    assert statuses[Status.CLOSED] / old.count() >= 0.8
    assert (
        statuses[Status.CLOSED]
        + statuses[Status.REJECTED]
        + statuses[Status.CANCELLED]
        + (statuses[Status.SUSPENDED])
        >= 0.95 * old.count()
    )
    recent = Case.objects.filter(created_at__gte=taken - timedelta(days=2))
    open_states = Counter(
        recent.exclude(status__in=[Status.CLOSED, Status.REJECTED, Status.CANCELLED]).values_list(
            "status", flat=True
        )
    )
    assert sum(open_states.values()) >= 0.5 * recent.count()
    assert len(open_states) >= 3
    duplicates = Case.objects.filter(resolution=Resolution.DUPLICATE)
    assert all(d.master.master_id is None and d.master.item_id == d.item_id for d in duplicates)


def test_reports_come_mostly_from_inspectors_and_mostly_about_the_street(seeded):
    sources = Counter(Case.objects.values_list("source", flat=True))
    assert 0.6 <= sources[Source.INSPECTOR] / (DAYS * PER_DAY) <= 0.8
    assert {Source.HOTLINE, Source.CITIZEN, Source.SENSOR, Source.SUPERVISOR} <= set(sources)
    items = Counter(Case.objects.values_list("item__name", flat=True))
    assert {name for name, _n in items.most_common(3)} == {"暴露垃圾", "占道经营", "乱堆物料"}
    emergencies = Case.objects.filter(item__emergency=True).count()
    assert emergencies <= 0.02 * DAYS * PER_DAY


COMPARED = (
    "status",
    "source",
    "grid_id",
    "department_id",
    "assignee_id",
    "verifier_id",
    "suspended_from",
    "resolution",
    "filed_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "suspended_at",
    "file_due",
    "dispatch_due",
    "handle_due",
    "verify_due",
    "overdue",
    "escalated",
    "rework_count",
    "closed_on_time",
    "created_at",
    "updated_at",
)


def lived_by_the_services(row: dict, steps: list[dict], time_machine) -> Case:
    """The same story told through cases.services, each step at its recorded moment."""
    users = {u.pk: u for u in User.objects.all()}
    departments = {d.code: d for d in Department.objects.all()}
    point = GEOSGeometry(row["point"])
    time_machine.move_to(steps[0]["at"], tick=False)
    case = case_report(
        by=users[row["reporter_id"]],
        item=Item.objects.get(pk=row["item_id"]),
        lon=point.x,
        lat=point.y,
        source=row["source"],
    ).case
    for step in steps[1:]:
        time_machine.move_to(step["at"], tick=False)
        by, note, detail = users.get(step["actor_id"]), step["note"], json.loads(step["detail"])
        action = step["action"]
        if action == "overdue":
            services.cases_mark_overdue(now=step["at"])
        elif action in ("dispatch", "redispatch"):
            act = getattr(services, f"case_{action}")
            act(case=case, by=by, department=departments[detail["department"]])
        elif action == "verify":
            services.case_verify(case=case, by=by, passed=detail["passed"], note=note)
        elif action in ("reject", "cancel", "return", "handle", "suspend"):
            getattr(services, f"case_{action}")(case=case, by=by, note=note)
        else:
            getattr(services, f"case_{action.replace('-', '_')}")(case=case, by=by)
    return Case.objects.get(pk=case.pk)


def test_the_history_is_what_the_services_would_have_written(city, time_machine):
    """Stories of every shape made by the history, told again through the services: the
    same fields and the same timeline, to the microsecond."""
    history = DemoHistory(city.district, seed=SEED)
    day = HISTORY_DAYS[2]
    batches = list(history.day_batches(day, 600, list(range(1, 601)), history_as_of(END)))
    steps_of: dict[int, list[dict]] = {}
    for step in (s for b in batches for s in b.steps):
        steps_of.setdefault(step[0], []).append(dict(zip(STEP_FIELDS, step, strict=True)))
    stories = {}
    for row in (dict(zip(CASE_FIELDS, r, strict=True)) for b in batches for r in b.cases):
        shape = tuple(s["action"] for s in steps_of[row["id"]])
        if row["reporter_id"] and "merge" not in shape:
            stories.setdefault(shape, (row, steps_of[row["id"]]))
    assert len(stories) >= 15
    # Every step the seeder takes is told again, a failed verification among them.
    assert {a for shape in stories for a in shape} >= (set(TRANSITIONS) - {"merge"}) | {
        "verify",
        "overdue",
    }
    assert any(
        json.loads(s["detail"]).get("rework") for _row, steps in stories.values() for s in steps
    )

    for row, steps in stories.values():
        case = lived_by_the_services(row, steps, time_machine)

        assert {f: getattr(case, f) for f in COMPARED} == {f: row[f] for f in COMPARED}
        told = case.timeline.order_by("at", "id").values(*STEP_FIELDS[1:-2], "detail")
        assert list(told) == [
            {**{f: s[f] for f in STEP_FIELDS[1:-2]}, "detail": json.loads(s["detail"])}
            for s in steps
        ]


def test_running_again_writes_nothing_twice_and_more_days_extend_the_history(seeded, city):
    again = seed(city)

    assert again == {"days written": 0, "days skipped": DAYS, "cases": 0, "steps": 0}
    assert Case.objects.count() == DAYS * PER_DAY

    more = seed(city, days=DAYS + 2)

    assert more["days written"] == 2 and more["days skipped"] == DAYS
    assert Case.objects.count() == (DAYS + 2) * PER_DAY


def test_an_interrupted_run_keeps_whole_days_and_the_next_run_completes_them(city):
    def ctrl_c_in_the_third_day(stage, done, total):
        if done > 2 * PER_DAY:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        seed(city, batch_size=25, progress=ctrl_c_in_the_third_day)

    assert Case.objects.count() == 2 * PER_DAY
    assert CaseNumberCounter.objects.count() == 2
    assert (
        CaseTransition.objects.filter(case__isnull=False).count() == CaseTransition.objects.count()
    )

    done = seed(city, batch_size=25)

    assert done["days written"] == DAYS - 2 and done["days skipped"] == 2
    assert Case.objects.count() == DAYS * PER_DAY


def test_the_same_seed_makes_the_same_history(city):
    ids = list(range(1, PER_DAY + 1))
    taken = history_as_of(END)

    def rows(seed):
        history = DemoHistory(city.district, seed=seed)
        return [
            b.cases + b.steps for b in history.day_batches(HISTORY_DAYS[0], PER_DAY, ids, taken)
        ]

    assert rows(SEED) == rows(SEED)
    assert rows(SEED) != rows(SEED + 1)


def test_the_command_writes_the_history_and_says_how_fast(city):
    out = StringIO()

    call_command(
        "seed_demo_cases",
        "--days=2",
        "--per-day=30",
        "--district=999901",
        f"--end={END}",
        stdout=out,
        stderr=StringIO(),
    )

    assert Case.objects.count() == 60
    assert "60 cases" in out.getvalue() and "cases/s" in out.getvalue()


def test_the_command_says_to_build_the_demo_city_first(db):
    with pytest.raises(CommandError, match="seed_demo_city"):
        call_command("seed_demo_cases", "--days=1", "--per-day=5", verbosity=0)


def test_a_district_without_the_demo_people_is_refused_with_the_way_out(small_city, morning_of_end):
    with pytest.raises(DemoCasesMissing, match="seed_demo_city"):
        demo_cases_seed(district=small_city.district, days=1, per_day=5, end=END)


def test_a_history_cannot_end_after_today(city):
    with pytest.raises(CommandError, match="after today"):
        call_command(
            "seed_demo_cases",
            "--days=1",
            "--per-day=5",
            "--district=999901",
            f"--end={END + timedelta(days=1)}",
            verbosity=0,
        )


def test_if_empty_starts_anyway_when_the_taxonomy_is_missing(small_city, capsys):
    from django.core.management import CommandError, call_command

    call_command(
        "seed_demo_cases",
        "--days",
        "1",
        "--per-day",
        "5",
        "--if-empty",
        "--district",
        small_city.district.code,
        verbosity=0,
    )

    assert "Demo cases not written" in capsys.readouterr().err
    with pytest.raises(CommandError):
        call_command(
            "seed_demo_cases",
            "--days",
            "1",
            "--per-day",
            "5",
            "--district",
            small_city.district.code,
            verbosity=0,
        )
