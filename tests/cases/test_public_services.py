"""The public side and the hotline in the services: anonymous reports, 12345 ticket numbers,
followers and 并单, 直接办结, 不满意重办, 评价 and 回访, moderation and held reports, and what the
followers are told."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from cases import services
from cases.calendar import deadline
from cases.models import (
    Case,
    CaseFollower,
    CasePhoto,
    CaseTransition,
    FollowerChannel,
    FollowerRole,
    Notification,
    NotificationOutbox,
    RequestType,
    Resolution,
    Satisfaction,
    Source,
    Status,
)
from tests.cases.conftest import centre
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotline(people):
    return make_user("hotline-1", Role.HOTLINE)


def anonymous_report(people, item, **extra) -> Case:
    lon, lat = centre(people.grid_a)
    extra.setdefault("source", Source.CITIZEN)
    return services.case_report(by=None, item=item, lon=lon, lat=lat, **extra).case


def reporter_of(case, **extra) -> CaseFollower:
    extra.setdefault("phone", "13812345678")
    return services.case_follow(
        case=case, role=FollowerRole.REPORTER, via=FollowerChannel.PORTAL, **extra
    ).follower


def closed(people, case) -> Case:
    """Filed, dispatched, handled and closed by the command centre as resolved."""
    case = services.case_file(case=case, by=people.dispatcher)
    case = services.case_dispatch(case=case, by=people.dispatcher, department=None)
    case = services.case_accept(case=case, by=people.staff)
    case = services.case_handle(case=case, by=people.staff, note="修好了")
    return services.case_close(case=case, by=people.dispatcher)


def actions(case) -> list[str]:
    rows = CaseTransition.objects.filter(case=case).order_by("at", "id")
    return list(rows.values_list("action", flat=True))


# --- reporting ------------------------------------------------------------------------------


def test_an_anonymous_citizen_reports_without_an_account(people, taxonomy):
    case = anonymous_report(people, taxonomy.component, request_type=RequestType.COMPLAINT)

    assert case.reporter_id is None and case.source == Source.CITIZEN
    assert case.status == Status.REPORTED
    # 投诉: 13 working days to answer (GRIDCITY_REPLY_LIMITS).
    assert case.reply_due == deadline(case.created_at, 13, "work_days")
    first = CaseTransition.objects.get(case=case)
    assert first.action == "report" and first.actor is None


def test_an_anonymous_report_must_name_its_source(people, taxonomy):
    lon, lat = centre(people.grid_a)
    with pytest.raises(ValueError):
        services.case_report(by=None, item=taxonomy.component, lon=lon, lat=lat)


def test_an_unknown_request_type_is_refused(people, taxonomy):
    with pytest.raises(services.CaseInvalid) as refused:
        anonymous_report(people, taxonomy.component, request_type="gossip")
    assert "request_type" in refused.value.answer().fields


def test_a_platform_ticket_number_makes_one_case_however_often_it_comes(people, taxonomy, hotline):
    lon, lat = centre(people.grid_a)
    sent = {"item": taxonomy.component, "lon": lon, "lat": lat, "digest": "d1"}
    first = services.case_report(by=hotline, external_number="SZ12345-0001", **sent)
    again = services.case_report(by=hotline, external_number="SZ12345-0001", **sent)

    assert first.created and not again.created
    assert again.case.pk == first.case.pk
    assert Case.objects.filter(external_number="SZ12345-0001").count() == 1


def test_a_ticket_number_sent_again_with_another_body_is_a_conflict(people, taxonomy, hotline):
    lon, lat = centre(people.grid_a)
    sent = {"item": taxonomy.component, "lon": lon, "lat": lat}
    services.case_report(by=hotline, external_number="SZ-2", digest="one", **sent)
    with pytest.raises(services.CaseConflict) as refused:
        services.case_report(by=hotline, external_number="SZ-2", digest="two", **sent)
    assert "ticket number" in refused.value.answer().message


# --- following and 并单 ---------------------------------------------------------------------


def test_following_twice_keeps_one_row_and_one_timeline_step(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    one = services.case_follow(
        case=case, role=FollowerRole.FOLLOWER, via=FollowerChannel.PORTAL, phone="+86 138 0000 1111"
    )
    two = services.case_follow(
        case=case, role=FollowerRole.FOLLOWER, via=FollowerChannel.PORTAL, phone="13800001111"
    )

    assert one.created and not two.created
    assert two.follower.pk == one.follower.pk
    assert one.follower.phone == "13800001111"  # normalised: digits, without +86
    assert len(one.follower.token) >= 40
    assert actions(case).count("follow") == 1


def test_a_merged_call_counts_as_a_repeat_every_time(people, taxonomy, hotline):
    case = anonymous_report(people, taxonomy.component)
    for _ in range(2):
        services.case_follow(
            case=case,
            role=FollowerRole.CALLER,
            via=FollowerChannel.HOTLINE,
            by=hotline,
            phone="13900002222",
        )

    assert Case.objects.get(pk=case.pk).repeat_count == 2
    assert CaseFollower.objects.filter(case=case).count() == 1
    assert actions(case).count("repeat") == 2


def test_only_the_hotline_merges_a_call(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    with pytest.raises(services.CaseForbidden):
        services.case_follow(
            case=case,
            role=FollowerRole.CALLER,
            via=FollowerChannel.HOTLINE,
            by=people.dispatcher,
            phone="13900002222",
        )


def test_a_closed_case_takes_no_new_follower(people, taxonomy):
    case = closed(people, anonymous_report(people, taxonomy.component))
    with pytest.raises(services.CaseConflict):
        services.case_follow(
            case=case, role=FollowerRole.FOLLOWER, via=FollowerChannel.PORTAL, phone="13700000000"
        )


def test_a_merged_duplicates_followers_follow_the_case_it_repeats(people, taxonomy):
    master = anonymous_report(people, taxonomy.component)
    duplicate = anonymous_report(people, taxonomy.component)
    reporter_of(duplicate, phone="13811112222")
    reporter_of(master, phone="13811113333")

    services.case_merge(case=duplicate, by=people.dispatcher, master=master)

    phones = set(CaseFollower.objects.filter(case=master).values_list("phone", flat=True))
    assert phones == {"13811112222", "13811113333"}
    services.case_file(case=master, by=people.dispatcher)
    told = Notification.objects.filter(case=master, follower__phone="13811112222")
    assert told.count() == 1


# --- 直接办结 --------------------------------------------------------------------------------


def test_a_consultation_is_answered_at_once_and_closed(people, taxonomy, hotline):
    case = anonymous_report(people, taxonomy.component, request_type=RequestType.CONSULTATION)
    answered = services.case_answer(case=case, by=hotline, note="办理时间为工作日 9:00–17:00")

    assert answered.status == Status.CLOSED
    assert answered.resolution == Resolution.ANSWERED
    assert answered.closed_at is not None and answered.closed_on_time
    assert answered.department_id is None
    assert answered.callback_due is None  # answered on the phone: nothing to call back about


@pytest.mark.parametrize("kind", [RequestType.COMPLAINT, RequestType.HELP, ""])
def test_only_a_consultation_suggestion_or_praise_is_answered_at_once(
    people, taxonomy, hotline, kind
):
    case = anonymous_report(people, taxonomy.component, request_type=kind)
    with pytest.raises(services.CaseInvalid):
        services.case_answer(case=case, by=hotline, note="答复")
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_the_answer_is_required_and_only_the_hotline_or_centre_gives_it(people, taxonomy):
    case = anonymous_report(people, taxonomy.component, request_type=RequestType.SUGGESTION)
    with pytest.raises(services.CaseInvalid):
        services.case_answer(case=case, by=people.dispatcher, note=" ")
    with pytest.raises(services.CaseForbidden):
        services.case_answer(case=case, by=people.staff, note="答复")
    assert services.case_answer(case=case, by=people.dispatcher, note="谢谢").status == "closed"


# --- 评价, 回访 and 不满意重办 ------------------------------------------------------------------


def test_closing_a_citizens_case_sets_the_callback_due(people, taxonomy):
    case = closed(people, anonymous_report(people, taxonomy.component))

    assert case.callback_due == deadline(case.closed_at, 2, "work_days")
    assert case.callback_done_at is None and case.satisfaction == ""


def test_closing_an_inspectors_case_sets_no_callback(people, taxonomy):
    lon, lat = centre(people.grid_a)
    case = services.case_report(
        by=people.inspector_a, item=taxonomy.component, lon=lon, lat=lat
    ).case
    assert closed(people, case).callback_due is None


def test_the_reporters_rating_counts_as_the_callback_and_is_given_once(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    reporter = reporter_of(case)
    case = closed(people, case)

    rated = services.case_satisfaction(
        case=case, follower=reporter, satisfaction=Satisfaction.FAIR, note="还行"
    )
    assert rated.satisfaction == Satisfaction.FAIR
    assert rated.callback_done_at is not None
    assert not Case.objects.filter(pk=case.pk, callback_done_at__isnull=True).exists()
    with pytest.raises(services.CaseConflict):
        services.case_satisfaction(case=case, follower=reporter, satisfaction="satisfied")


def test_only_the_reporter_rates_from_the_portal(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    follower = services.case_follow(
        case=case, role=FollowerRole.FOLLOWER, via=FollowerChannel.PORTAL, phone="13700000001"
    ).follower
    case = closed(people, case)
    with pytest.raises(services.CaseForbidden):
        services.case_satisfaction(case=case, follower=follower, satisfaction="satisfied")


def test_the_reporter_reopens_within_the_window(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    reporter = reporter_of(case)
    case = closed(people, case)
    case = services.case_satisfaction(case=case, follower=reporter, satisfaction="unsatisfied")

    reopened = services.case_reopen(case=case, follower=reporter, note="井盖还是松的")

    assert reopened.status == Status.DISPATCHED
    assert reopened.department_id == people.department.pk
    assert reopened.rework_count == 1
    assert reopened.closed_at is None and reopened.callback_due is None
    assert reopened.resolution == ""
    assert Notification.objects.filter(
        case=case, user=people.staff, kind=Notification.Kind.REWORK
    ).exists()


def test_the_reporter_may_not_reopen_after_the_window(people, taxonomy, time_machine):
    time_machine.move_to("2026-11-24 10:00 +08:00", tick=False)
    case = anonymous_report(people, taxonomy.component)
    reporter = reporter_of(case)
    case = closed(people, case)
    case = services.case_satisfaction(case=case, follower=reporter, satisfaction="unsatisfied")
    time_machine.shift(timedelta(days=8))

    with pytest.raises(services.CaseConflict) as refused:
        services.case_reopen(case=case, follower=reporter, note="还没修好")
    assert refused.value.answer().code == "reopen_too_late"
    # The hotline may still reopen it for the citizen.
    hotline = make_user("hotline-late", Role.HOTLINE)
    assert services.case_reopen(case=case, by=hotline, note="市民来电不满意").status == "dispatched"


def test_a_reopen_needs_a_reason_and_a_role_that_may(people, taxonomy, hotline):
    case = closed(people, anonymous_report(people, taxonomy.component))
    with pytest.raises(services.CaseInvalid):
        services.case_reopen(case=case, by=hotline, note="")
    with pytest.raises(services.CaseForbidden):
        services.case_reopen(case=case, by=people.staff, note="不满意")
    with pytest.raises(services.CaseForbidden):
        services.case_reopen(case=case, by=people.supervisor, note="不满意")


def test_an_answered_consultation_reopens_to_the_command_centre(people, taxonomy, hotline):
    case = anonymous_report(people, taxonomy.component, request_type=RequestType.CONSULTATION)
    case = services.case_answer(case=case, by=hotline, note="答复")

    reopened = services.case_reopen(case=case, by=hotline, note="答复不清楚")

    assert reopened.status == Status.FILED
    assert reopened.dispatch_due is not None


def test_a_callback_not_reached_stays_due(people, taxonomy, hotline):
    case = closed(people, anonymous_report(people, taxonomy.component))
    after = services.case_callback(case=case, by=hotline, reached=False, note="无人接听")

    assert after.callback_done_at is None and after.satisfaction == ""
    row = CaseTransition.objects.filter(case=case, action="callback").get()
    assert row.detail == {"reached": False}


def test_a_satisfied_callback_is_recorded_and_done(people, taxonomy, hotline):
    case = closed(people, anonymous_report(people, taxonomy.component))
    after = services.case_callback(
        case=case, by=hotline, reached=True, satisfaction=Satisfaction.SATISFIED
    )
    assert after.satisfaction == Satisfaction.SATISFIED
    assert after.callback_done_at is not None
    assert after.status == Status.CLOSED


def test_an_unsatisfied_callback_needs_a_reason_and_reopens_the_case(people, taxonomy, hotline):
    case = closed(people, anonymous_report(people, taxonomy.component))
    with pytest.raises(services.CaseInvalid):
        services.case_callback(
            case=case, by=hotline, reached=True, satisfaction=Satisfaction.UNSATISFIED, note=""
        )

    after = services.case_callback(
        case=case,
        by=hotline,
        reached=True,
        satisfaction=Satisfaction.UNSATISFIED,
        note="井盖还是响",
    )
    assert after.status == Status.DISPATCHED and after.rework_count == 1
    assert actions(case)[-2:] == ["callback", "reopen"]
    reopen = CaseTransition.objects.filter(case=case, action="reopen").get()
    assert reopen.note == "井盖还是响" and reopen.actor == hotline


def test_only_the_hotline_calls_back(people, taxonomy):
    case = closed(people, anonymous_report(people, taxonomy.component))
    with pytest.raises(services.CaseForbidden):
        services.case_callback(
            case=case, by=people.dispatcher, reached=True, satisfaction="satisfied"
        )


def test_a_case_rated_on_the_portal_is_not_called_back(people, taxonomy, hotline):
    case = anonymous_report(people, taxonomy.component)
    reporter = reporter_of(case)
    case = closed(people, case)
    services.case_satisfaction(case=case, follower=reporter, satisfaction="satisfied")
    with pytest.raises(services.CaseConflict):
        services.case_callback(case=case, by=hotline, reached=True, satisfaction="satisfied")


# --- moderation and held reports -------------------------------------------------------------


def photo_of(case) -> CasePhoto:
    return CasePhoto.objects.create(
        case=case,
        stage="report",
        original=f"x/{case.pk}.jpg",
        display=f"d/{case.pk}.jpg",
        thumbnail=f"t/{case.pk}.jpg",
        width=800,
        height=600,
        size=1000,
        sha256=f"{case.pk:064d}",
    )


def test_moderation_hides_and_edits_with_a_reason_in_the_timeline(people, taxonomy):
    case = anonymous_report(people, taxonomy.component, description="王某 13812345678 乱扔垃圾")
    photo = photo_of(case)

    after = services.case_moderate(
        case=case,
        by=people.dispatcher,
        note="含个人信息",
        public_text="有人乱扔垃圾",
        hide_photos=[photo.pk],
    )

    assert after.public_text == "有人乱扔垃圾" and not after.public_hidden
    assert after.description.startswith("王某")  # the original stays for staff
    assert after.moderated_at is not None
    assert CasePhoto.objects.get(pk=photo.pk).public_hidden
    row = CaseTransition.objects.get(case=case, action="moderate")
    assert row.note == "含个人信息"
    assert row.detail == {"text_edited": True, "photos_hidden": [photo.pk]}


def test_moderation_records_only_what_changes(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    services.case_moderate(case=case, by=people.dispatcher, note="不雅", hide_text=True)
    with pytest.raises(services.CaseInvalid):
        services.case_moderate(
            case=case, by=people.dispatcher, note="再隐藏", hide_text=True, public_text=""
        )
    assert actions(case).count("moderate") == 1


def test_moderation_needs_a_reason_a_moderator_and_the_cases_own_photos(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    other = photo_of(anonymous_report(people, taxonomy.component))
    with pytest.raises(services.CaseInvalid):
        services.case_moderate(case=case, by=people.dispatcher, note="", hide_text=True)
    with pytest.raises(services.CaseForbidden):
        services.case_moderate(case=case, by=people.supervisor, note="x", hide_text=True)
    with pytest.raises(services.CaseInvalid) as refused:
        services.case_moderate(case=case, by=people.dispatcher, note="x", hide_photos=[other.pk])
    assert "hide_photos" in refused.value.answer().fields


def test_a_held_report_is_released_before_it_is_filed(people, taxonomy, hotline):
    case = anonymous_report(people, taxonomy.component, held=True)
    with pytest.raises(services.CaseConflict) as refused:
        services.case_file(case=case, by=people.dispatcher)
    assert refused.value.answer().code == "held"

    released = services.case_release(case=case, by=hotline, note="人工看过")
    assert not released.held
    assert services.case_file(case=released, by=people.dispatcher).status == Status.FILED
    with pytest.raises(services.CaseConflict):
        services.case_release(case=released, by=hotline)


def test_a_held_report_may_be_rejected_as_spam(people, taxonomy):
    case = anonymous_report(people, taxonomy.component, held=True)
    assert services.case_reject(case=case, by=people.dispatcher, note="广告").status == "rejected"


def test_only_a_moderator_releases(people, taxonomy):
    case = anonymous_report(people, taxonomy.component, held=True)
    with pytest.raises(services.CaseForbidden):
        services.case_release(case=case, by=people.staff)


# --- what the followers are told -------------------------------------------------------------


def test_followers_are_told_of_public_steps_through_the_outside_channel(
    people, taxonomy, django_capture_on_commit_callbacks, caplog
):
    case = anonymous_report(people, taxonomy.component)
    reporter = reporter_of(case, phone="13812345678")
    quiet = services.case_follow(
        case=case,
        role=FollowerRole.FOLLOWER,
        via=FollowerChannel.PORTAL,
        phone="13700000002",
        notify=False,
    ).follower

    with (
        caplog.at_level("INFO", logger="gridcity.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.case_file(case=case, by=people.dispatcher)

    told = Notification.objects.get(case=case, kind=Notification.Kind.UPDATE)
    assert told.follower_id == reporter.pk and told.user_id is None
    assert case.number in told.message
    assert not Notification.objects.filter(follower=quiet).exists()
    outbox = NotificationOutbox.objects.get(notification=told)
    assert outbox.state == NotificationOutbox.State.SENT
    assert f"follower={reporter.pk}" in caplog.text
    assert "13812345678" not in caplog.text


def test_a_step_the_public_does_not_hear_of_tells_no_follower(people, taxonomy):
    case = anonymous_report(people, taxonomy.component)
    reporter_of(case)
    services.case_escalate(case=case, by=people.dispatcher, note="快")
    services.case_moderate(case=case, by=people.dispatcher, note="x", hide_text=True)
    assert not Notification.objects.filter(case=case, kind=Notification.Kind.UPDATE).exists()


def test_the_followers_hear_of_the_whole_loop(people, taxonomy, hotline):
    case = anonymous_report(people, taxonomy.component)
    reporter = reporter_of(case)
    case = closed(people, case)
    services.case_reopen(case=case, by=hotline, note="不满意")

    rows = Notification.objects.filter(follower=reporter).order_by("id")
    messages = list(rows.values_list("message", flat=True))
    assert [m.split(": ", 1)[1] for m in messages] == [
        "accepted",
        "sent to the department in charge",
        "being handled",
        "handled, being checked",
        "closed",
        "reopened to be done again",
    ]
    assert timezone.now() >= Notification.objects.filter(follower=reporter).first().created_at
