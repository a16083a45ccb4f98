"""The department's own pages beside its queues (处置部门).

``/desk/department/today/``: the warning list of what falls due today (今日到期) — the
department's cases being handled whose handling deadline has passed or falls before midnight
in Asia/Shanghai, grouped as overdue, due within the warning time (the same
``GRIDCITY_WARN_BEFORE_MINUTES`` as the due-soon queue and its notification) and later today,
each with the time left on the working calendar, and for a case sent back, why (返工).
Printable: the print style sheet leaves the list alone on the page.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import codes, workcal
from cases.calendar import calendar_current
from cases.selectors import as_list_rows, cases_due_today, rework_reasons
from desk.web.common import queue_nav, workbench_required

# More than a department can act on in a day; the due-today queue pages through the rest.
TODAY_LIMIT = 500


@dataclass
class Group:
    key: str
    label: str
    rows: list = field(default_factory=list)


def time_left(now: datetime, due: datetime, unit: str) -> tuple[int, bool]:
    """Seconds between now and the deadline, and whether it has passed. Measured the way the
    limit was given: a round-the-clock limit (紧急工作时) in wall time, any other in working
    time on the district's calendar (a deadline at 14:30 seen at 11:30 is one working hour
    away: the lunch break does not count)."""
    passed = due < now
    start, end = (due, now) if passed else (now, due)
    if unit == workcal.CLOCK_HOURS:
        seconds = (end - start).total_seconds()
    else:
        seconds = calendar_current().working_seconds_between(start, end)
    return int(seconds), passed


def duration_text(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def _groups(rows, now: datetime) -> list[Group]:
    warn = settings.GRIDCITY_WARN_BEFORE_MINUTES
    groups = [
        Group("overdue", gettext_lazy("Overdue")),
        Group("soon", _("Due within %(hours)s h") % {"hours": f"{warn / 60:g}"}),
        Group("later", gettext_lazy("Later today")),
    ]
    soon_until = now + timedelta(minutes=warn)
    for row in rows:
        due = row["case"].handle_due
        index = 0 if due < now else 1 if due < soon_until else 2
        groups[index].rows.append(row)
    return groups


@workbench_required("department")
def today(request):
    """今日到期: what the department must finish today, the most pressing first."""
    now = timezone.now()
    cases = list(
        as_list_rows(cases_due_today(request.user, now)).annotate(
            handle_unit=F("item__handle_unit")
        )[: TODAY_LIMIT + 1]
    )
    more = len(cases) > TODAY_LIMIT
    cases = cases[:TODAY_LIMIT]
    reasons = rework_reasons([c for c in cases if c.rework_count])
    rows = []
    for case in cases:
        seconds, passed = time_left(now, case.handle_due, case.handle_unit)
        item = codes.ITEMS.get(case.item_id) or ("", "")
        rows.append(
            {
                "case": case,
                "item_code": item[0],
                "item_name": item[1],
                "grid": codes.GRIDS.code(case.grid_id),
                "left": duration_text(seconds),
                "passed": passed,
                "reason": reasons.get(case.pk),
            }
        )
    context = {
        "workbench": "department",
        "nav": queue_nav(request.user, "department"),
        "groups": _groups(rows, now),
        "total": len(rows),
        "more": more,
        "now": now,
    }
    return render(request, "desk/department_today.html", context)


urlpatterns = [
    path("department/today/", today, name="desk-department-today"),
]
