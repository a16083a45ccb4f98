"""核实: the command centre asks the grid's inspector whether a reported problem is there, and
the inspector answers found (属实) or not found (不属实) before anyone files the case."""

import pytest
from django.urls import reverse

from cases import actions, services
from cases.models import Case, CasePhoto, CaseTransition, Confirmation, Notification, Status
from cases.selectors import cases_in_queue, cases_waiting_for
from tests.cases.conftest import act, centre, reported
from tests.cases.test_photos import encode, scene

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def report(people, taxonomy):
    """A citizen's report in grid A (inspector A's), as the hotline or the portal brings it."""
    lon, lat = centre(people.grid_a)
    return services.case_report(
        by=people.citizen, item=taxonomy.event, lon=lon, lat=lat, description="路边堆放垃圾"
    ).case


@pytest.fixture
def asked(people, report):
    return services.case_confirm_request(case=report, by=people.dispatcher, note="请核实")


def rows(case, action):
    return list(CaseTransition.objects.filter(case=case, action=action).order_by("at", "id"))


# --- asking ------------------------------------------------------------------------------


def test_the_command_centre_asks_the_grids_inspector_and_tells_them(
    people, report, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_confirm_request(case=report, by=people.dispatcher, note="请核实")

    assert case.status == Status.REPORTED
    assert case.verifier_id == people.inspector_a.pk
    assert case.confirmation == Confirmation.REQUESTED and case.confirm_requested_at
    [row] = rows(case, "confirm-request")
    assert (row.from_state, row.to_state, row.note) == ("reported", "reported", "请核实")
    assert row.actor == people.dispatcher
    [told] = Notification.objects.filter(kind=Notification.Kind.CONFIRM)
    assert told.user == people.inspector_a and told.case_id == case.pk
    assert case.number in told.message


@pytest.mark.parametrize("persona", ["inspector_a", "supervisor", "staff", "citizen"])
def test_only_the_command_centre_asks_for_a_confirmation(people, report, persona):
    with pytest.raises(services.CaseForbidden):
        services.case_confirm_request(case=report, by=getattr(people, persona))

    assert Case.objects.get(pk=report.pk).confirmation == ""
    assert not rows(report, "confirm-request")


def test_a_filed_case_is_not_asked_about(people, report):
    filed = services.case_file(case=report, by=people.dispatcher)

    with pytest.raises(services.CaseConflict) as refused:
        services.case_confirm_request(case=filed, by=people.dispatcher)

    assert refused.value.answer().code == "invalid_state"


def test_what_an_inspector_reported_on_site_needs_no_confirmation(people, taxonomy):
    lon, lat = centre(people.grid_a)
    seen = services.case_report(by=people.inspector_a, item=taxonomy.event, lon=lon, lat=lat).case

    assert "confirm-request" not in {a.name for a in actions.actions_for(people.dispatcher, seen)}
    with pytest.raises(services.CaseConflict) as refused:
        services.case_confirm_request(case=seen, by=people.dispatcher)
    assert refused.value.answer().code == "seen_on_site"


def test_one_request_is_open_at_a_time(people, asked):
    with pytest.raises(services.CaseConflict) as refused:
        services.case_confirm_request(case=asked, by=people.dispatcher)
    assert refused.value.answer().code == "already_requested"
    assert len(rows(asked, "confirm-request")) == 1

    answered = services.case_confirm(case=asked, by=people.inspector_a, found=False, note="无垃圾")
    again = services.case_confirm_request(case=answered, by=people.dispatcher, note="再核实")

    assert again.confirmation == Confirmation.REQUESTED
    assert len(rows(asked, "confirm-request")) == 2


# --- answering ---------------------------------------------------------------------------


def test_the_grids_inspector_finds_it_and_the_case_stays_reported(people, asked):
    where = services.Where(*centre(people.grid_a))

    case = services.case_confirm(
        case=asked, by=people.inspector_a, found=True, note="现场属实", where=where
    )

    assert case.status == Status.REPORTED
    assert case.confirmation == Confirmation.FOUND
    [row] = rows(case, "confirm")
    assert row.detail == {"found": True} and row.note == "现场属实"
    assert row.location is not None and row.actor == people.inspector_a
    # The dispatcher files it afterwards, as any report.
    assert services.case_file(case=case, by=people.dispatcher).status == Status.FILED


def test_not_found_needs_a_note_and_writes_nothing_without_one(people, asked):
    with pytest.raises(services.CaseInvalid) as refused:
        services.case_confirm(case=asked, by=people.inspector_a, found=False, note="  ")

    assert "note" in refused.value.answer().fields
    assert Case.objects.get(pk=asked.pk).confirmation == Confirmation.REQUESTED
    assert not rows(asked, "confirm")

    case = services.case_confirm(case=asked, by=people.inspector_a, found=False, note="未发现")
    assert case.confirmation == Confirmation.NOT_FOUND
    assert rows(case, "confirm")[0].detail == {"found": False}


@pytest.mark.parametrize("persona", ["inspector_b", "supervisor", "dispatcher", "staff"])
def test_only_the_inspector_of_the_grid_confirms(people, asked, persona):
    with pytest.raises(services.CaseForbidden):
        services.case_confirm(case=asked, by=getattr(people, persona), found=True)

    assert Case.objects.get(pk=asked.pk).confirmation == Confirmation.REQUESTED


def test_the_inspector_asked_confirms_even_outside_their_grid(people, asked):
    Case.objects.filter(pk=asked.pk).update(verifier=people.inspector_b)

    case = services.case_confirm(case=asked, by=people.inspector_b, found=True)

    assert case.confirmation == Confirmation.FOUND


def test_an_answer_needs_an_open_request(people, report, asked):
    services.case_confirm(case=asked, by=people.inspector_a, found=True)

    with pytest.raises(services.CaseConflict) as twice:
        services.case_confirm(case=asked, by=people.inspector_a, found=False, note="不属实")

    assert twice.value.answer().code == "not_requested"
    assert Case.objects.get(pk=asked.pk).confirmation == Confirmation.FOUND


def test_a_case_filed_meanwhile_refuses_the_answer_saying_its_state(people, asked):
    services.case_file(case=asked, by=people.dispatcher)

    with pytest.raises(services.CaseConflict) as refused:
        services.case_confirm(case=asked, by=people.inspector_a, found=True)

    extra = refused.value.answer().extra
    assert extra["status"] == "filed"
    assert (extra["last_step"]["action"], extra["last_step"]["by"]) == (
        "file",
        people.dispatcher.username,
    )


# --- photos ------------------------------------------------------------------------------


def test_the_confirming_inspector_adds_report_photos_while_it_is_reported(people, asked):
    data = encode(scene(), "JPEG")

    added = services.case_photo_add(case=asked, by=people.inspector_a, data=data, stage="report")
    assert added.created and added.photo.stage == "report"
    with pytest.raises(services.CaseForbidden):
        services.case_photo_add(case=asked, by=people.inspector_b, data=data, stage="report")

    filed = services.case_file(case=asked, by=people.dispatcher)
    with pytest.raises(services.CaseForbidden):
        services.case_photo_add(case=filed, by=people.inspector_a, data=data, stage="report")
    assert CasePhoto.objects.filter(case=asked).count() == 1


# --- the API, the actions, the lists -------------------------------------------------------


def test_the_api_asks_and_answers_and_a_second_answer_is_409(client, people, taxonomy):
    number = reported(client, people.citizen, people.grid_a, taxonomy.event)["number"]

    asked = act(client, people.dispatcher, number, "confirm-request", note="请核实")
    assert asked.status_code == 200, asked.content
    assert asked.json()["status"] == "reported"
    assert asked.json()["confirmation"] == "requested"
    assert asked.json()["verifier"] == people.inspector_a.username
    not_found = act(client, people.inspector_a, number, "confirm", found=False)
    assert not_found.status_code == 400 and "note" in not_found.json()["error"]["fields"]
    found = act(client, people.inspector_a, number, "confirm", found=True, note="属实")
    assert found.status_code == 200, found.content
    assert (found.json()["status"], found.json()["confirmation"]) == ("reported", "found")
    again = act(client, people.inspector_a, number, "confirm", found=True)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_requested"


def test_the_steps_offered_follow_the_request(people, report):
    def offered(user, case):
        return {a.name for a in actions.actions_for(user, Case.objects.get(pk=case.pk))}

    assert "confirm-request" in offered(people.dispatcher, report)
    assert "confirm" not in offered(people.inspector_a, report)
    services.case_confirm_request(case=report, by=people.dispatcher)
    assert "confirm-request" not in offered(people.dispatcher, report)
    assert "confirm" in offered(people.inspector_a, report)
    assert "confirm" not in offered(people.inspector_b, report)


def test_waiting_for_my_confirmation_is_the_asked_inspectors_task(people, asked):
    assert list(cases_waiting_for(people.inspector_a)) == [asked]
    assert list(cases_waiting_for(people.inspector_b)) == []

    services.case_confirm(case=asked, by=people.inspector_a, found=True)

    assert list(cases_waiting_for(people.inspector_a)) == []


def test_the_to_file_queue_row_says_where_the_confirmation_stands(
    client, people, report, django_assert_max_num_queries
):
    [row] = cases_in_queue(people.dispatcher, "to-file")
    assert row.confirmation == ""
    services.case_confirm_request(case=report, by=people.dispatcher)
    client.force_login(people.dispatcher)
    url = reverse("desk-queue", args=["dispatch", "to-file"]) + "?partial=1"

    assert 'class="flag confirm-requested"' in client.get(url).content.decode()
    services.case_confirm(case=report, by=people.inspector_a, found=False, note="无")
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert 'class="flag confirm-not_found"' in page
