"""The hotline's calls: intake (受理), 并单, 直接办结, callbacks (回访), the operator's day."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import (
    Case,
    CaseFollower,
    FollowerRole,
    RequestType,
    Resolution,
    Satisfaction,
    Source,
    Status,
)

pytestmark = pytest.mark.django_db


def test_a_call_taken_becomes_a_hotline_case_with_the_caller_as_its_reporter(call, operator):
    taken = call(phone="+86 138-0013-8000", request_type=RequestType.COMPLAINT)

    case = taken.case
    assert taken.created
    assert case.source == Source.HOTLINE
    assert case.request_type == RequestType.COMPLAINT
    assert case.reporter == operator
    assert case.contact_phone == "13800138000"
    assert case.reply_due is not None and case.reply_due > case.created_at
    follower = CaseFollower.objects.get(case=case)
    assert follower.role == FollowerRole.REPORTER
    assert follower.via == "hotline"
    assert (follower.phone, follower.name) == ("13800138000", "王先生")


def test_a_call_placed_by_its_grid_code_lies_in_that_grid(call, people):
    case = call(lon=None, lat=None, grid_code=people.grid_b.code).case

    assert case.grid_id == people.grid_b.pk


def test_a_call_without_a_place_or_a_number_is_refused_and_stores_nothing(call):
    from cases.services import CaseInvalid

    with pytest.raises(CaseInvalid):
        call(lon=None, lat=None)
    with pytest.raises(CaseInvalid):
        call(phone="")
    assert not Case.objects.exists()


def test_only_the_hotline_takes_calls(call, people):
    from cases.services import CaseForbidden

    with pytest.raises(CaseForbidden):
        call(by=people.inspector_a)


def test_merging_a_repeat_call_adds_a_caller_and_counts_a_repeat_without_a_second_case(
    call, operator
):
    from portal.services import call_merge

    case = call(phone="13800000001").case

    merged = call_merge(case=case, by=operator, phone="13800000002", name="李女士")

    assert Case.objects.count() == 1
    assert merged.case.repeat_count == 1
    assert merged.follower.role == FollowerRole.CALLER
    assert merged.follower.phone == "13800000002"
    assert case.timeline.filter(action="repeat").count() == 1


def test_the_same_caller_merged_twice_counts_two_repeats_but_follows_once(call, operator):
    from portal.services import call_merge

    case = call(phone="13800000001").case
    call_merge(case=case, by=operator, phone="13800000002")
    again = call_merge(case=case, by=operator, phone="138 0000 0002")

    assert again.case.repeat_count == 2
    assert case.followers.filter(phone="13800000002").count() == 1


def test_a_consultation_answered_from_the_knowledge_base_is_closed_at_once(people, item, operator):
    from portal.models import KnowledgeEntry
    from portal.services import call_answer

    entry = KnowledgeEntry.objects.create(
        question="井盖归谁管？", answer="市政井盖由水务部门管理。", keywords="井盖 水务"
    )
    centre = people.grid_a.geom.point_on_surface

    answered = call_answer(
        by=operator,
        phone="13700137000",
        item=item,
        description="问井盖归哪个部门管",
        entry=entry,
        lon=centre.x,
        lat=centre.y,
    )

    case = answered.case
    assert case.status == Status.CLOSED
    assert case.resolution == Resolution.ANSWERED
    assert case.department_id is None and case.dispatched_at is None
    assert "水务部门" in case.timeline.get(action="answer").note
    assert case.callback_due is None  # the call itself was the answer


def test_a_complaint_is_not_answered_at_once(people, item, operator):
    from cases.services import CaseInvalid
    from portal.services import call_answer

    centre = people.grid_a.geom.point_on_surface
    with pytest.raises(CaseInvalid):
        call_answer(
            by=operator,
            phone="13700137000",
            request_type=RequestType.COMPLAINT,
            item=item,
            description="投诉",
            answer="已答复",
            lon=centre.x,
            lat=centre.y,
        )
    assert not Case.objects.exists()


def test_the_knowledge_search_finds_active_entries_by_every_word():
    from portal.models import KnowledgeEntry
    from portal.selectors import knowledge_search

    dog = KnowledgeEntry.objects.create(question="养狗要登记吗？", answer="需要。", keywords="犬只")
    KnowledgeEntry.objects.create(question="养狗在哪登记？", answer="旧的", active=False)
    KnowledgeEntry.objects.create(
        question="投诉怎么办", answer="拨打12345", request_types=["complaint"]
    )

    assert knowledge_search("犬只") == [dog]
    assert knowledge_search("养狗 登记") == [dog]
    assert knowledge_search("12345", request_type="consultation") == []
    assert knowledge_search("") == []


def test_the_callers_earlier_tickets_are_found_by_phone(call, operator, people, item):
    from cases import services
    from portal.selectors import caller_history

    first = call(phone="13800138000").case
    centre = people.grid_a.geom.point_on_surface
    # Reported elsewhere with the same number as its contact.
    other = services.case_report(
        by=people.dispatcher,
        item=item,
        lon=centre.x,
        lat=centre.y,
        contact_phone="13800138000",
    ).case
    call(phone="13900000000")

    found = list(caller_history(operator, "138-0013-8000"))

    assert {c.pk for c in found} == {first.pk, other.pk}
    assert list(caller_history(operator, "138")) == []


def test_open_cases_of_the_same_item_nearby_are_offered_for_merging(call, operator, people):
    from portal.selectors import open_cases_nearby

    case = call().case
    centre = people.grid_a.geom.point_on_surface
    far = people.grid_b.geom.point_on_surface

    near = open_cases_nearby(operator, item=case.item, lon=centre.x, lat=centre.y)
    away = open_cases_nearby(operator, item=case.item, lon=far.x, lat=far.y)

    assert list(near) == [case]
    assert list(away) == []


def test_an_unsatisfied_callback_reopens_the_case_for_rework(closed_hotline_case, operator):
    from cases.services import case_callback

    case = closed_hotline_case()
    assert case.callback_due is not None

    reopened = case_callback(
        case=case,
        by=operator,
        reached=True,
        satisfaction=Satisfaction.UNSATISFIED,
        note="井盖还是松的",
    )

    assert reopened.status == Status.DISPATCHED
    assert reopened.rework_count == 1
    assert reopened.timeline.filter(action="reopen", note="井盖还是松的").exists()


def test_the_callback_page_records_a_verdict_and_an_unsatisfied_one_reopens(
    client, closed_hotline_case, operator
):
    satisfied, unsatisfied = closed_hotline_case("13900000001"), closed_hotline_case("13900000002")
    client.force_login(operator)

    client.post(
        reverse("hotline-callback", args=[satisfied.number]),
        {"reached": "yes", "satisfaction": "satisfied"},
    )
    refused = client.post(
        reverse("hotline-callback", args=[unsatisfied.number]),
        {"reached": "yes", "satisfaction": "unsatisfied", "note": ""},
        follow=True,
    )
    client.post(
        reverse("hotline-callback", args=[unsatisfied.number]),
        {"reached": "yes", "satisfaction": "unsatisfied", "note": "没修好"},
    )

    satisfied = Case.objects.get(pk=satisfied.pk)
    unsatisfied = Case.objects.get(pk=unsatisfied.pk)
    assert satisfied.satisfaction == "satisfied" and satisfied.callback_done_at is not None
    assert "note" in refused.content.decode() or refused.status_code == 200
    assert unsatisfied.status == Status.DISPATCHED
    assert unsatisfied.satisfaction == "unsatisfied"


def test_a_caller_not_reached_stays_in_the_callback_queue(client, closed_hotline_case, operator):
    case = closed_hotline_case()
    client.force_login(operator)

    client.post(reverse("hotline-callback", args=[case.number]), {"reached": "no"})
    page = client.get(reverse("hotline-callbacks"))

    assert case.number in page.content.decode()
    assert "1 次未接通" in page.content.decode() or "1 attempt" in page.content.decode()


def test_the_callback_queue_lists_the_oldest_due_first(closed_hotline_case, operator):
    from portal.selectors import callbacks_due

    first, second = closed_hotline_case("13900000001"), closed_hotline_case("13900000002")
    Case.objects.filter(pk=second.pk).update(callback_due=first.callback_due.replace(year=2020))

    assert list(callbacks_due(operator).order_by("callback_due", "id")) == [second, first]


def test_the_callback_queue_pages_read_the_same_queries_however_many_rows(
    client, closed_hotline_case, operator, settings
):
    settings.GRIDCITY_CODEBOOK_CHECK_SECONDS = 3600  # no fingerprint check in between
    closed_hotline_case("13900000001")
    client.force_login(operator)
    client.get(reverse("hotline-callbacks"))  # warm the code books
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("hotline-callbacks"))
    for n in range(2, 6):
        closed_hotline_case(f"1390000000{n}")
    with CaptureQueriesContext(connection) as five:
        page = client.get(reverse("hotline-callbacks"))

    assert page.content.decode().count('class="callback-form"') == 5
    assert len(five) == len(one), [q["sql"][:150] for q in five.captured_queries]


def test_the_operators_day_counts_calls_merges_direct_answers_and_callbacks(
    people, item, operator, call, closed_hotline_case
):
    from cases.services import case_callback
    from portal.selectors import operator_day
    from portal.services import call_answer, call_merge

    case = call(phone="13800000001").case
    call_merge(case=case, by=operator, phone="13800000002")
    centre = people.grid_a.geom.point_on_surface
    call_answer(
        by=operator,
        phone="13800000003",
        item=item,
        description="咨询",
        answer="已告知",
        lon=centre.x,
        lat=centre.y,
    )
    closed = closed_hotline_case("13800000004")
    due = closed_hotline_case("13800000005")
    case_callback(case=closed, by=operator, reached=True, satisfaction="satisfied")
    case_callback(case=due, by=operator, reached=False)
    Case.objects.filter(pk=due.pk).update(callback_due=due.closed_at)

    day = operator_day(operator)

    # New tickets: the first call, the direct answer, the two closed cases.
    assert (day.new, day.merged, day.taken) == (4, 1, 5)
    assert day.answered == 1
    assert (day.callbacks_done, day.callbacks_missed) == (1, 1)
    assert day.callbacks_due == 1
