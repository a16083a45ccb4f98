"""Who may do what: the named predicates of accounts.policy, and that nothing else decides.

The first part reads the code itself: a role compared anywhere but in ``accounts/policy.py``
(a ``user.role == ...``, a set of ``Role.X``, a role in a template's ``{% if %}``) fails the
suite, so a new page or action asks the policy instead of copying a rule. Querysets that filter
on a role (``Q(role=Role.STAFF)``: whom to notify) and comparing a role with a role (did it
change?) are not decisions and pass. Migrations and tests are not read.
"""

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from guardian.shortcuts import assign_perm

from accounts import policy
from accounts.models import Role, User

ROOT = Path(__file__).resolve().parents[2]
POLICY = Path("accounts/policy.py")
NOT_READ = {".git", ".venv", "node_modules", "var", "tests", "migrations", "locale", "static"}

# --- nothing outside the policy compares a role ----------------------------------------------

_DECIDING = (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot)


def _is_a_role_value(node: ast.AST) -> bool:
    """A person's role: ``x.role``, a variable ``role``, ``x["role"]``, ``getattr(x, "role")``."""
    match node:
        case ast.Attribute(attr="role") | ast.Name(id="role"):
            return True
        case ast.Subscript(slice=ast.Constant(value="role")):
            return True
        case ast.Call(func=ast.Name(id="getattr"), args=[_, ast.Constant(value="role"), *_]):
            return True
    return False


def _names_a_role(node: ast.AST) -> bool:
    """``Role``, ``Role.X`` (``.value``, ``.label``), or a collection holding one."""
    match node:
        case ast.Name(id="Role"):
            return True
        case ast.Attribute(value=inner):
            return _names_a_role(inner)
        case ast.Set(elts=items) | ast.Tuple(elts=items) | ast.List(elts=items):
            return any(_names_a_role(item) for item in items)
        case ast.Call(func=ast.Name(id="frozenset" | "set" | "tuple"), args=[inner]):
            return _names_a_role(inner)
    return False


def _names_a_follower_role(node: ast.AST) -> bool:
    """``FollowerRole.X``: a citizen's relation to a case they follow (reporter, follower,
    repeat caller), not a person's role in the system."""
    return any(isinstance(n, ast.Name) and n.id == "FollowerRole" for n in ast.walk(node))


def role_comparisons(source: str) -> list[int]:
    """The lines of ``source`` (Python) that compare a role, or gather roles into a set of
    their own: decisions the policy should make."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(isinstance(op, _DECIDING) for op in node.ops):
            operands = [node.left, *node.comparators]
            if any(map(_names_a_follower_role, operands)):
                continue
            roles = [o for o in operands if _is_a_role_value(o)]
            # One role against another is a change, not a decision (accounts.signals).
            if any(map(_names_a_role, operands)) or 0 < len(roles) < len(operands):
                found.append(node.lineno)
        elif isinstance(node, ast.Match) and _is_a_role_value(node.subject):
            found.append(node.lineno)
        elif isinstance(node, ast.Set | ast.Tuple | ast.List) and _names_a_role(node):
            found.append(node.lineno)  # a set of roles: the policy's sets are the only ones
    return sorted(set(found))


_TAG = re.compile(r"{%(.*?)%}", re.S)
_TEMPLATE_ROLE = re.compile(
    r"(?:\.|\b)role\s*(?:==|!=|\bin\b|\bnot\s+in\b)|(?:==|!=|\bin\b)\s*[\w.]*\.role\b"
)


def template_role_comparisons(text: str) -> list[int]:
    """The lines of a template whose tags compare a role."""
    return [
        text.count("\n", 0, tag.start()) + 1
        for tag in _TAG.finditer(text)
        if _TEMPLATE_ROLE.search(tag.group(1))
    ]


def _files(root: Path, suffix: str):
    for path in sorted(root.rglob(f"*{suffix}")):
        relative = path.relative_to(root)
        if NOT_READ.isdisjoint(relative.parts[:-1]) and relative != POLICY:
            yield relative, path.read_text(encoding="utf-8")


def role_comparisons_under(root: Path) -> list[str]:
    """Every role comparison outside the policy under ``root``, as ``path:line: code``."""
    found = []
    for relative, text in _files(root, ".py"):
        lines = text.splitlines()
        found += [f"{relative}:{n}: {lines[n - 1].strip()}" for n in role_comparisons(text)]
    for relative, text in _files(root, ".html"):
        lines = text.splitlines()
        found += [
            f"{relative}:{n}: {lines[n - 1].strip()}" for n in template_role_comparisons(text)
        ]
    return found


def test_no_code_outside_the_policy_compares_a_role():
    assert role_comparisons_under(ROOT) == [], "ask accounts.policy instead"


@pytest.mark.parametrize(
    "line",
    [
        "if user.role == Role.STAFF: pass",
        "if request.user.role != 'inspector': pass",
        "x = user.role in SEES_EVERY_CASE",
        "x = role in (Role.SUPERVISOR, Role.DISPATCHER)",
        "x = user.role not in roles",
        "x = getattr(user, 'role', None) == 'admin'",
        "x = row['role'] == 'citizen'",
        "x = 'admin' == user.role",
        "x = kind in {Role.ADMIN, Role.HOTLINE}",
        "x = Role.ADMIN == other",
        "WATCHERS = {Role.SUPERVISOR, Role.ADMIN}",
        "people = User.objects.filter(role__in=[Role.STAFF, Role.HOTLINE])",
        "match user.role:\n    case _: pass",
    ],
)
def test_the_check_finds_a_role_compared_in_python(line):
    assert role_comparisons(line) == [1]


def test_a_followers_relation_to_a_case_is_no_role_decision():
    assert role_comparisons("x = follower.role == FollowerRole.REPORTER") == []
    assert role_comparisons("x = role not in FollowerRole.values") == []


@pytest.mark.parametrize(
    "line",
    [
        "changed = before['role'] != instance.role",
        "q = Q(role=Role.STAFF, is_active=True)",
        "source = SOURCE_OF_ROLE.get(by.role)",
        "user.role = role",
        "ok = policy.is_inspector(user)",
        "label = str(Role.CITIZEN.label)",
    ],
)
def test_the_check_lets_through_what_decides_nothing(line):
    assert role_comparisons(line) == []


def test_the_check_finds_a_role_compared_in_a_template():
    text = (
        "{% load i18n %}\n"
        '{% if user.is_superuser or user.role == "supervisor" %}x{% endif %}\n'
        '<form role="search">{% translate "Your role does not give access" %}</form>\n'
        '{% if "admin" in user.role %}y{% endif %}\n'
        '{% if user|may:"audit_patrols" %}z{% endif %}\n'
    )
    assert template_role_comparisons(text) == [2, 4]


def test_the_check_reads_every_app_and_template(tmp_path):
    (tmp_path / "cases" / "api").mkdir(parents=True)
    (tmp_path / "cases" / "api" / "views.py").write_text("ok = user.role == 'staff'\n")
    (tmp_path / "cases" / "migrations").mkdir()
    (tmp_path / "cases" / "migrations" / "0002.py").write_text("ok = user.role == 'staff'\n")
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "policy.py").write_text("ok = user.role == 'staff'\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.html").write_text('{% if user.role == "admin" %}{% endif %}')

    assert role_comparisons_under(tmp_path) == [
        "cases/api/views.py:1: ok = user.role == 'staff'",
        'templates/base.html:1: {% if user.role == "admin" %}{% endif %}',
    ]


# --- who someone is, and what they may open ----------------------------------------------------


def person(role: str, **extra) -> User:
    return User(username=f"a-{role}", role=role, **extra)


@pytest.mark.parametrize("role", Role.values)
def test_a_superuser_is_an_administrator_whatever_their_role(role):
    assert policy.is_administrator(person(role, is_superuser=True))
    assert policy.is_administrator(person(role)) == (role == Role.ADMIN)


def test_only_supervisors_dispatchers_and_administrators_watch_the_live_map():
    watchers = {role for role in Role.values if policy.may_watch_live(person(role))}

    assert watchers == {Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN}
    assert policy.may_watch_live(person(Role.INSPECTOR, is_superuser=True))


def test_only_supervisors_and_administrators_audit_patrols():
    auditors = {role for role in Role.values if policy.may_audit_patrols(person(role))}

    assert auditors == {Role.SUPERVISOR, Role.ADMIN}


def test_only_grid_inspectors_record_patrols_and_hold_grids():
    patrollers = {role for role in Role.values if policy.may_patrol(person(role))}

    assert patrollers == {Role.INSPECTOR}
    assert {role for role in Role.values if policy.may_hold_grid(person(role))} == patrollers
    # A superuser is no inspector: patrols are an inspector's own.
    assert not policy.may_patrol(person(Role.ADMIN, is_superuser=True))


def test_department_staff_report_through_the_command_centre():
    reporters = {role for role in Role.values if policy.may_report(person(role))}

    assert reporters == set(Role.values) - {Role.STAFF}


def test_the_command_centre_and_the_hotline_read_a_reporters_contact():
    readers = {role for role in Role.values if policy.sees_contact(person(role))}

    assert readers == {Role.DISPATCHER, Role.HOTLINE, Role.ADMIN}
    assert policy.sees_contact(person(Role.CITIZEN, is_superuser=True))


def test_hotline_and_administrators_see_the_whole_district():
    everywhere = {role for role in Role.values if policy.sees_whole_district(person(role))}

    assert everywhere == {Role.HOTLINE, Role.ADMIN}
    assert {role for role in Role.values if policy.sees_every_shift(person(role))} == {Role.ADMIN}


def test_supervisors_and_dispatchers_answer_for_an_area():
    area = {role for role in Role.values if policy.answers_for_area(person(role))}

    assert area == {Role.SUPERVISOR, Role.DISPATCHER}


def test_only_administrators_enter_the_admin_site():
    assert {role for role in Role.values if policy.may_use_admin_site(person(role))} == {Role.ADMIN}


@pytest.mark.parametrize("rule", sorted(policy.PAGE_RULES))
def test_a_disabled_account_or_an_anonymous_visitor_may_open_nothing(rule):
    disabled = person(Role.ADMIN, is_superuser=True, is_active=False)
    may = policy.PAGE_RULES[rule]

    assert not policy.is_signed_in(disabled) and not policy.is_signed_in(AnonymousUser())
    assert not may(disabled) and not may(AnonymousUser())


def test_a_template_asks_the_policy_by_name():
    page = Template('{% load policy %}{% if user|may:"audit_patrols" %}audit{% endif %}')

    assert page.render(Context({"user": person(Role.SUPERVISOR)})) == "audit"
    assert page.render(Context({"user": person(Role.DISPATCHER)})) == ""
    assert page.render(Context({"user": AnonymousUser()})) == ""


def test_a_template_naming_no_rule_is_an_error_not_a_hidden_link():
    page = Template('{% load policy %}{% if user|may:"audit_patrol" %}audit{% endif %}')

    with pytest.raises(KeyError):
        page.render(Context({"user": person(Role.SUPERVISOR)}))


# --- what someone may do to a case -------------------------------------------------------------


def case_in(grid, **extra) -> SimpleNamespace:
    """A case as the policy reads it: where it is, who reported it, where it went."""
    values = {"reporter_id": None, "verifier_id": None, "department_id": None, **extra}
    return SimpleNamespace(grid_id=grid.pk, street_id=grid.community.street_id, **values)


def test_the_command_centre_of_the_cases_district_dispatches_it(people):
    case = case_in(people.grid_a)
    commanders = {name for name, user in people.all().items() if policy.may_command(user, case)}

    assert commanders == {"dispatcher", "admin"}


def test_a_supervisor_approves_in_their_own_street_only(people):
    in_a, in_b = case_in(people.grid_a), case_in(people.grid_b)

    assert policy.may_approve(people.supervisor, in_a)
    assert not policy.may_approve(people.supervisor, in_b)
    assert policy.may_approve(people.other_supervisor, in_b)
    assert policy.may_approve(people.dispatcher, in_b)
    assert not policy.may_approve(people.inspector_a, in_a)


def test_a_street_granted_by_hand_widens_a_supervisors_area(people):
    in_b = case_in(people.grid_b)
    assign_perm("gridcity.view_street", people.supervisor, people.grid_b.community.street)

    assert policy.oversees_case(people.supervisor, in_b)
    assert policy.may_approve(people.supervisor, in_b)


def test_the_department_a_case_went_to_handles_it(people):
    theirs = case_in(people.grid_a, department_id=people.department.pk)
    nobodys = case_in(people.grid_a)
    handlers = {name for name, user in people.all().items() if policy.may_handle(user, theirs)}

    assert handlers == {"staff", "admin"}
    assert not policy.may_handle(people.staff, nobodys)


def test_the_grids_inspector_or_the_streets_supervisor_verifies(people):
    case = case_in(people.grid_a)
    verifiers = {name for name, user in people.all().items() if policy.may_verify(user, case)}

    assert verifiers == {"inspector_a", "supervisor", "admin"}
    # The one named to verify it may, whoever's grid it is.
    assert policy.may_verify(
        people.inspector_b, case_in(people.grid_a, verifier_id=people.inspector_b.pk)
    )


def test_report_photos_come_from_the_reporter_or_the_command_centre(people):
    mine = case_in(people.grid_b, reporter_id=people.citizen.pk)

    assert policy.may_add_photo(people.citizen, mine, "report")
    assert policy.may_add_photo(people.dispatcher, mine, "report")
    assert not policy.may_add_photo(people.inspector_a, mine, "report")
    assert not policy.may_add_photo(people.staff, mine, "report")
    assert not policy.may_add_photo(people.citizen, mine, "verify")


def test_a_disabled_administrator_may_do_nothing_to_a_case(people):
    people.admin.is_active = False
    case = case_in(people.grid_a)

    assert not policy.may_command(people.admin, case)
    assert not policy.may_approve(people.admin, case)


def test_a_citizen_is_named_to_the_hotline_and_to_themself_only(people):
    hotline = person(Role.HOTLINE, pk=10**6)

    assert policy.sees_citizen_identity(hotline, people.citizen)
    assert policy.sees_citizen_identity(people.citizen, people.citizen)
    assert not policy.sees_citizen_identity(people.dispatcher, people.citizen)
    assert not policy.sees_citizen_identity(AnonymousUser(), people.citizen)
