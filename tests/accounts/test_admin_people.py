"""The people admin changes people through the services: tokens die and the audit log says why."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, Device, GridAssignment, Role, User
from accounts.services import grid_assign
from tests.accounts.test_tokens import PASSWORD, as_token, assert_refused, make_person, token_of


@pytest.fixture
def inspector(db):
    return make_person("wang-wei", first_name="王伟")


@pytest.fixture
def root(client, db) -> User:
    admin = make_person("admin-1", role=Role.ADMIN, is_staff=True, is_superuser=True)
    return admin


def change_form(user: User, **changes) -> dict:
    """What the admin's change page posts for ``user``, with ``changes`` applied."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": joined.date().isoformat(),
        "date_joined_1": joined.time().strftime("%H:%M:%S"),
        "role": user.role,
        "phone": user.phone,
        "groups": list(user.groups.values_list("pk", flat=True)),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post_change(client, root, user, **changes):
    client.force_login(root)
    response = client.post(f"/admin/accounts/user/{user.pk}/change/", change_form(user, **changes))
    client.logout()
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def test_disabling_a_person_in_the_admin_signs_their_handhelds_out(client, root, inspector):
    token = token_of(client, "wang-wei")

    post_change(client, root, inspector, is_active=None)

    inspector.refresh_from_db()
    assert not inspector.is_active
    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    assert Device.objects.get(user=inspector).revoked_reason == "user disabled"
    event = AuditEvent.objects.get(action=AuditAction.USER_DISABLED)
    assert (event.username, event.actor) == ("wang-wei", root)


def test_a_new_role_in_the_admin_revokes_the_tokens_and_moves_the_groups(client, root, inspector):
    token = token_of(client, "wang-wei")

    post_change(client, root, inspector, role=Role.HOTLINE)

    inspector.refresh_from_db()
    assert inspector.role == Role.HOTLINE
    assert [g.name for g in inspector.groups.all()] == ["role:hotline"]
    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert (event.detail["role_from"], event.detail["role_to"]) == ("inspector", "hotline")
    assert event.actor == root


def test_editing_a_person_without_changing_role_or_activity_keeps_the_tokens(
    client, root, inspector
):
    token = token_of(client, "wang-wei")

    post_change(client, root, inspector, phone="13800000000")

    inspector.refresh_from_db()
    assert inspector.phone == "13800000000"
    assert client.get("/api/v1/me/", **as_token(token)).status_code == 200
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.ROLE_CHANGED, AuditAction.USER_DISABLED]
    ).exists()


def test_a_password_set_in_the_admin_signs_the_handhelds_out(client, root, inspector):
    token = token_of(client, "wang-wei")
    client.force_login(root)
    new = "another lamp-post 43"

    response = client.post(
        f"/admin/accounts/user/{inspector.pk}/password/",
        {"usable_password": "true", "password1": new, "password2": new},
    )

    assert response.status_code == 302
    client.logout()
    inspector.refresh_from_db()
    assert inspector.check_password(new)
    assert_refused(client.get("/api/v1/me/", **as_token(token)))
    assert AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).count() == 1
    revoked = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert revoked.detail["reason"] == "password changed"


def test_the_user_password_command_signs_the_handhelds_out(client, inspector, monkeypatch):
    token = token_of(client, "wang-wei")
    new = "another lamp-post 43"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": new)

    call_command("user_password", "wang-wei")

    inspector.refresh_from_db()
    assert inspector.check_password(new)
    assert_refused(client.get("/api/v1/me/", **as_token(token)))


def test_the_user_password_command_gives_up_after_three_mismatches(inspector, monkeypatch):
    answers = iter(["one fine password 1", "another fine password 2"] * 3)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("user_password", "wang-wei")

    inspector.refresh_from_db()
    assert inspector.check_password(PASSWORD)


def test_a_grid_assigned_in_the_admin_closes_the_grids_previous_assignment(
    client, root, small_city, inspector
):
    grid = small_city.grids[0]
    before = grid_assign(grid=grid, inspector=make_person("li-na"))
    client.force_login(root)

    response = client.post(
        "/admin/accounts/gridassignment/add/",
        {"grid": grid.pk, "inspector": inspector.pk, "kind": "primary", "note": "轮岗"},
    )

    assert response.status_code == 302
    before.refresh_from_db()
    assert before.valid_to is not None
    now = GridAssignment.objects.get(grid=grid, valid_to__isnull=True)
    assert (now.inspector, now.assigned_by, now.note) == (inspector, root, "轮岗")
    assert now.valid_from == before.valid_to


def test_only_an_inspector_can_be_assigned_a_grid_in_the_admin(client, root, small_city):
    client.force_login(root)

    response = client.post(
        "/admin/accounts/gridassignment/add/",
        {"grid": small_city.grids[0].pk, "inspector": root.pk, "kind": "primary"},
    )

    assert response.status_code == 200
    assert "inspector" in response.context["adminform"].form.errors
    assert not GridAssignment.objects.exists()


def test_the_admin_ends_an_assignment_through_the_service(client, root, small_city, inspector):
    assignment = grid_assign(grid=small_city.grids[0], inspector=inspector)
    client.force_login(root)

    client.post(
        "/admin/accounts/gridassignment/",
        {"action": "end", "_selected_action": [assignment.pk]},
    )

    assignment.refresh_from_db()
    assert assignment.valid_to is not None
