"""Who may do what to which object: every role decision of GridCity, by name.

Services, selectors, permission classes, the admin, templates (``{% load policy %}``) and
websocket consumers ask these predicates; none of them compares a role itself (a test holds
them to it: ``tests/accounts/test_policy.py``). The role sets below are the only ones.

What a role may do with each *kind* of object, as Django model permissions, is the group table
in ``accounts.roles``; *which* objects a person sees (their grids, street, department) is the
selectors' work: they build the querysets and ask this module which rule applies.

A predicate answers for any user, an anonymous one included (who may do nothing), and a
disabled account may do nothing either. A case is taken as it comes (anything with the case's
``reporter_id``, ``verifier_id``, ``grid_id``, ``street_id`` and ``department_id``): accounts
sits below the cases app and does not import it.

Plain functions, not django-rules: a rule here orders its own queries (the area's code before
the hand-made grants), the services turn a "no" into their own refusal, and the scopes are
querysets that a predicate registry would not build; a function with a name is as short and
needs no registry to find.
"""

from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Q

from accounts.models import Role

# --- role sets, defined once -----------------------------------------------------------------

# Supervisors (督察员) and dispatchers (派遣员) answer for a street, or a whole district.
AREA_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER})
# The hotline takes calls from the whole district; administrators answer for all of it.
SEES_WHOLE_DISTRICT = frozenset({Role.HOTLINE, Role.ADMIN})
# The command centre (受理/派遣): files, dispatches, asks for verification, closes, merges.
COMMAND_CENTRE = frozenset({Role.DISPATCHER, Role.ADMIN})
# Who decides on a department's request for more time, suspends (挂账) and escalates (督办).
APPROVERS = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
# Who handles a dispatched case: the staff of the department it went to.
HANDLERS = frozenset({Role.STAFF})
# Who checks a handled case on the spot (核查): the grid's inspector, or a supervisor.
VERIFIERS = frozenset({Role.INSPECTOR, Role.SUPERVISOR})
# Who confirms a reported problem on site (核实) before it is filed: the grid's inspector.
CONFIRMERS = frozenset({Role.INSPECTOR})
# Who may add photos while a case is reported or filed (the report's own evidence).
REPORT_PHOTOGRAPHERS = frozenset(
    {Role.INSPECTOR, Role.CITIZEN, Role.HOTLINE, Role.SUPERVISOR, Role.DISPATCHER}
)
# Who watches the live map: the people who oversee streets, not the ones walking them.
LIVE_WATCHERS = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})
# Who audits a day's patrols (督查) on the audit page.
PATROL_AUDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Who reads a reporter's name and phone on a case: the command centre and the hotline call back.
SEES_CONTACT = frozenset({Role.DISPATCHER, Role.HOTLINE, Role.ADMIN})
# Who may know which person a citizen is: the hotline calls citizens back (回访) and
# administrators answer for the data. Everyone else sees "citizen" (市民) where a citizen acted.
SEES_CITIZEN_IDENTITY = frozenset({Role.HOTLINE, Role.ADMIN})
# Who reads a citizen's phone number (and e-mail): the hotline, which calls them back, and
# administrators; nobody else, the command centre included (it sees the name only).
SEES_PHONE = frozenset({Role.HOTLINE, Role.ADMIN})
# The hotline (12345 热线): takes calls, merges repeats (并单), answers consultations at once
# (直接办结) and calls citizens back (回访).
HOTLINE = frozenset({Role.HOTLINE, Role.ADMIN})
# Who may hide or edit what the public sees of a case, and release a report held as spam.
MODERATORS = frozenset({Role.DISPATCHER, Role.HOTLINE, Role.ADMIN})
# Who answers a consultation at once (直接办结): the hotline, and the command centre.
DIRECT_ANSWERERS = frozenset({Role.HOTLINE, Role.DISPATCHER, Role.ADMIN})


def _role(user) -> str | None:
    """The user's role; None for no user or an anonymous one."""
    return getattr(user, "role", None)


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _superuser(user) -> bool:
    return bool(getattr(user, "is_superuser", False))


# --- who someone is ----------------------------------------------------------------------------


def is_signed_in(user) -> bool:
    """An authenticated person whose account is active: the least any page or socket asks."""
    return _active(user)


def is_administrator(user) -> bool:
    """An administrator (管理员) or a superuser: every grid, street, shift and case."""
    return _superuser(user) or _role(user) == Role.ADMIN


def is_inspector(user) -> bool:
    """A grid inspector (网格员): answers for the grids assigned to them."""
    return _role(user) == Role.INSPECTOR


def is_supervisor(user) -> bool:
    """A supervisor (督察员): oversees a street or a district."""
    return _role(user) == Role.SUPERVISOR


def is_department_staff(user) -> bool:
    """A member of a department (处置部门): handles the cases dispatched to it."""
    return _role(user) == Role.STAFF


def is_citizen(user) -> bool:
    return _role(user) == Role.CITIZEN


def answers_for_area(user) -> bool:
    """A supervisor or dispatcher: their scope is a street, or a whole district."""
    return _role(user) in AREA_ROLES


def in_command_centre(user) -> bool:
    """A dispatcher or administrator by role: the command centre's queue is theirs."""
    return _role(user) in COMMAND_CENTRE


def may_use_admin_site(user) -> bool:
    """Administrators (and superusers) enter the Django admin (``is_staff``)."""
    return is_administrator(user)


def may_hold_grid(user) -> bool:
    """Only grid inspectors are assigned grids (and trackers)."""
    return is_inspector(user)


def grid_holders() -> Q:
    """The people who may be given a grid or a tracker, as a condition on User."""
    return Q(role=Role.INSPECTOR, is_active=True)


# --- what someone sees -------------------------------------------------------------------------


def sees_whole_district(user) -> bool:
    """Every grid and every case: hotline operators, administrators and superusers."""
    return _superuser(user) or _role(user) in SEES_WHOLE_DISTRICT


def sees_every_shift(user) -> bool:
    """Every patrol track: administrators and superusers. Where an inspector walked is an
    employee's personal data; nobody else sees all of it."""
    return is_administrator(user)


def sees_contact(user, case=None) -> bool:
    """Whether ``user`` reads the reporter's name on ``case`` (the phone: ``sees_phone``): the
    command centre and the hotline, administrators and superusers."""
    return _superuser(user) or _role(user) in SEES_CONTACT


def sees_phone(user, case=None) -> bool:
    """Whether ``user`` reads a citizen's phone number and e-mail on ``case`` (its reporter's,
    its followers'): the hotline and administrators only."""
    return _superuser(user) or _role(user) in SEES_PHONE


def sees_citizen_identity(user, citizen=None) -> bool:
    """Whether ``user`` may see who a citizen is (their user name on a case's timeline):
    hotline operators, administrators and superusers, and the citizen themself (``citizen``,
    when given, is the citizen in question)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if citizen is not None and citizen.pk == user.pk:
        return True
    return _superuser(user) or _role(user) in SEES_CITIZEN_IDENTITY


# --- cases ---------------------------------------------------------------------------------------


def may_report(user) -> bool:
    """Departments handle cases; they report through the command centre. Everyone else who is
    signed in reports."""
    return not is_department_staff(user)


def is_reporter(user, case) -> bool:
    """The user reported the case (they may withdraw it while nobody has filed it)."""
    return user.pk == case.reporter_id


def oversees_case(user, case) -> bool:
    """The case lies in the user's area (street or district code, or a street or grid granted
    by hand), or the user sees the whole district.

    The street's code against the person's scope first (one small query); the hand-made
    grants only when that says no.
    """
    from accounts.selectors import granted_hierarchy_ids, scope_prefix

    if sees_whole_district(user):
        return True
    prefix = scope_prefix(user)
    if prefix and case.street_id and _street_under(user, case.street_id, prefix):
        return True
    grids, streets = granted_hierarchy_ids(user)
    return case.street_id in streets or case.grid_id in grids


def _street_under(user, street_id: int, prefix: str) -> bool:
    """Whether the street's code starts with ``prefix``; remembered on the user object, so a
    page asking it of twenty cases in one street (the actions offered on each row) asks the
    database once. A street's code is a fact that does not change under a request."""
    from gridcity.models import Street

    memo = getattr(user, "_streets_under", None)
    if memo is None:
        memo = {}
        user._streets_under = memo
    key = (prefix, street_id)
    if key not in memo:
        memo[key] = Street.objects.filter(pk=street_id, code__startswith=prefix).exists()
    return memo[key]


def of_department(user, case) -> bool:
    """The case is dispatched to the user's department."""
    return user.department_id is not None and user.department_id == case.department_id


def inspects(user, case) -> bool:
    """The user is the case's verifier, or the inspector of its grid now."""
    from accounts.models import GridAssignment

    if case.verifier_id == user.pk:
        return True
    return GridAssignment.objects.filter(
        inspector=user, grid_id=case.grid_id, valid_to__isnull=True
    ).exists()


def _may(user, case, roles, scope) -> bool:
    """Active, and an administrator or superuser; or of ``roles`` with the case in ``scope``."""
    if not _active(user):
        return False
    if is_administrator(user):
        return True
    return _role(user) in roles and scope(user, case)


def may_command(user, case) -> bool:
    """立案, 派遣, 核查 requested, 结案, merge, reject: the command centre of the case's area."""
    return _may(user, case, COMMAND_CENTRE, oversees_case)


def may_approve(user, case) -> bool:
    """Extensions (延期), suspensions (挂账) and escalation (督办): dispatchers and supervisors of
    the case's area, administrators."""
    return _may(user, case, APPROVERS, oversees_case)


def may_handle(user, case) -> bool:
    """签收, 回退, 处置, asking for more time: the staff of the department it is dispatched to."""
    return _may(user, case, HANDLERS, of_department)


def _inspects_or_oversees(user, case) -> bool:
    if is_supervisor(user):
        return oversees_case(user, case)
    return inspects(user, case)


def may_verify(user, case) -> bool:
    """核查: the case's verifier or its grid's inspector, or a supervisor of its area."""
    return _may(user, case, VERIFIERS, _inspects_or_oversees)


def may_confirm(user, case) -> bool:
    """核实: the inspector of the case's grid, or the one the command centre asked, answers
    whether a reported problem is really there (属实 / 不属实)."""
    return _may(user, case, CONFIRMERS, inspects)


def _confirming(user, case) -> bool:
    # The case's state is read as the plain value: accounts sits below cases.
    return getattr(case, "status", None) == "reported" and may_confirm(user, case)


def _reported_it_or_centre(user, case) -> bool:
    return is_reporter(user, case) or in_command_centre(user) or _confirming(user, case)


PHOTO_RULES = {
    # stage → who may add photos of that stage, and to which cases
    "report": (REPORT_PHOTOGRAPHERS, _reported_it_or_centre),
    "handle": (HANDLERS, of_department),
    "verify": (VERIFIERS, _inspects_or_oversees),
}


def may_add_photo(user, case, stage: str) -> bool:
    """Evidence photos: the report's by its reporter, the command centre or (while it is
    reported) the inspector who confirms it on site, the handling's by
    the department, the verification's by whoever verifies."""
    roles, scope = PHOTO_RULES[stage]
    return _may(user, case, roles, scope)


# --- patrol --------------------------------------------------------------------------------------


def may_patrol(user) -> bool:
    """Only active grid inspectors record patrols (shifts, fixes, GPX imports)."""
    return _active(user) and is_inspector(user)


def may_watch_live(user) -> bool:
    """Whether a person may open the live map at all (which streets is the selectors' answer:
    ``patrol.selectors.streets_watchable_by``)."""
    return _active(user) and (_superuser(user) or _role(user) in LIVE_WATCHERS)


def may_audit_patrols(user) -> bool:
    """Supervisors and administrators audit patrols; nobody else (inspectors read their own
    shifts on the handheld)."""
    return _active(user) and (_superuser(user) or _role(user) in PATROL_AUDITORS)


# --- workbenches (desk/) ----------------------------------------------------------------------

# --- the public side and the hotline ----------------------------------------------------------


def _hotline_or_area(user, case) -> bool:
    """The hotline answers for the whole district; a dispatcher for their area."""
    return _role(user) in SEES_WHOLE_DISTRICT or oversees_case(user, case)


def may_take_calls(user) -> bool:
    """The hotline console (12345 热线受理台): hotline operators and administrators."""
    return _active(user) and (_superuser(user) or _role(user) in HOTLINE)


def may_send_platform_tickets(user) -> bool:
    """The city's 12345 platform sends its tickets (工单) with the token of an account of the
    hotline (its integration account, ``manage.py hotline_platform_token``)."""
    return may_take_calls(user)


def may_call_back(user, case) -> bool:
    """回访: the hotline calls the citizen back after a case closed and records the verdict."""
    return _may(user, case, HOTLINE, lambda u, c: True)


def may_answer_directly(user, case) -> bool:
    """直接办结: a consultation answered on the phone is closed at once, without dispatch."""
    return _may(user, case, DIRECT_ANSWERERS, _hotline_or_area)


def may_moderate(user, case) -> bool:
    """Hide or edit a case's public description or photos, release a report held as spam:
    the hotline, and the command centre of the case's area."""
    return _may(user, case, MODERATORS, _hotline_or_area)


def may_reopen(user, case) -> bool:
    """不满意重办 on a citizen's behalf (the hotline on a callback, the command centre)."""
    return _may(user, case, HOTLINE | COMMAND_CENTRE, _hotline_or_area)


def public_cases() -> Q:
    """Which cases anyone may see on the public pages, as a condition on Case: filed (a
    citizen's report becomes public once the command centre accepted it), not held as spam,
    not of a private item (e.g. security), and not rejected or cancelled.

    The private items are a subquery (``item_id NOT IN (…)``, hashed once) rather than a join
    on the item: with the join PostgreSQL planned "near me" item by item, reading the item
    index of a million cases for a 500 m box (0.1–0.25 s instead of 3 ms)."""
    # Looked up by name: accounts sits below the cases app and does not import it.
    private_items = apps.get_model("cases", "Item").objects.filter(private=True).values("pk")
    return (
        Q(filed_at__isnull=False, held=False)
        & ~Q(item__in=private_items)
        & ~Q(status__in=["rejected", "cancelled"])
    )


# A follower's options on their private page (市民门户). A follower is a ``CaseFollower`` row: a
# citizen who holds the private link, with no account needed; only the case's reporter rates
# it and reopens it, as the 12345 loop asks of the person who brought the problem.


def follower_is_reporter(follower) -> bool:
    """The citizen who brought the case (as against one who follows it or called again)."""
    return follower.role == "reporter"


def follower_may_rate(follower, case) -> bool:
    """评价: the reporter, once a round, when the case was closed as resolved or answered."""
    return (
        follower.case_id == case.pk
        and follower_is_reporter(follower)
        and case.status == "closed"
        and case.resolution in ("resolved", "answered")
        and not case.satisfaction
    )


def reopen_until(case):
    """The end of the window in which a reporter may reopen a closed case (不满意重办)."""
    if case.status != "closed" or case.closed_at is None:
        return None
    return case.closed_at + timedelta(days=settings.GRIDCITY_REOPEN_DAYS)


def follower_may_reopen(follower, case, now) -> bool:
    """不满意重办 from the private page: the reporter, after rating the result 不满意, within
    ``GRIDCITY_REOPEN_DAYS`` of its closing."""
    until = reopen_until(case)
    return (
        follower.case_id == case.pk
        and follower_is_reporter(follower)
        and case.resolution in ("resolved", "answered")
        and case.satisfaction == "unsatisfied"
        and until is not None
        and now <= until
    )


WORKBENCHES = ("dispatch", "department", "supervise", "mobile", "hotline")


def workbench_of(user) -> str | None:
    """The workbench a person lands on after logging in: the command centre's (受理/派遣),
    their department's (处置), their street's (督察), the inspector's phone page (网格员) or
    the hotline console (12345 热线受理台); None for those who have none (citizens keep the
    map)."""
    if not _active(user):
        return None
    if is_administrator(user) or in_command_centre(user):
        return "dispatch"
    if is_department_staff(user):
        return "department" if user.department_id else None
    if is_supervisor(user):
        return "supervise"
    if is_inspector(user):
        return "mobile"
    if _role(user) in HOTLINE:
        return "hotline"
    return None


def may_use_workbench(user, workbench: str) -> bool:
    """A person opens their own workbench; administrators open every one."""
    if not _active(user):
        return False
    return is_administrator(user) or workbench_of(user) == workbench


def may_watch_cases(user) -> bool:
    """Whether the notifications socket also carries every change of the cases in the person's
    area (the dispatcher's and supervisor's queues refresh themselves)."""
    return _active(user) and (_superuser(user) or _role(user) in APPROVERS)


# The workbenches of the back office (desk/), where the map of open cases lives too.
DESK_WORKBENCHES = ("dispatch", "department", "supervise")


def may_use_desk(user) -> bool:
    """Whoever has a back-office workbench (command centre, department, supervisor) opens the
    desk's shared pages, such as the map of open cases; what they see on them is their scope."""
    return any(may_use_workbench(user, name) for name in DESK_WORKBENCHES)


# What templates may ask by name: ``{% if user|may:"audit_patrols" %}``.
PAGE_RULES = {
    "audit_patrols": may_audit_patrols,
    "watch_live": may_watch_live,
    "use_desk": may_use_desk,
    "have_workbench": lambda u: workbench_of(u) is not None,
    "take_calls": may_take_calls,
    **{f"{name}_desk": (lambda u, name=name: may_use_workbench(u, name)) for name in WORKBENCHES},
}
