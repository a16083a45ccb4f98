"""The portal's abuse guards: rate limits per address and phone, the captcha for anonymous
reports after a few an hour, and the spam markers that hold a report for moderation."""

import json
from datetime import timedelta
from typing import ClassVar

import pytest
from captcha.models import CaptchaStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from gridcity.errors import answer_of, error_response
from portal import abuse
from portal.abuse import (
    ReportCaptchaRefused,
    ReportRateLimited,
    captcha_challenge,
    captcha_challenges_expired_purge,
    captcha_needed,
    client_address,
    normalise_phone,
    report_accepted,
    report_guard,
    spam_markers,
)

START = "2026-12-01 09:00 +08:00"
HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.GRIDCITY_REPORTS_PER_ADDRESS_HOUR = 10
    settings.GRIDCITY_REPORTS_PER_PHONE_DAY = 5
    settings.GRIDCITY_CAPTCHA_AFTER = 3
    settings.GRIDCITY_TRUSTED_PROXIES = 0
    settings.GRIDCITY_SPAM_WORDS = []


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def from_address(address: str = "203.0.113.7", **meta):
    return RequestFactory().post("/portal/report/", REMOTE_ADDR=address, **meta)


def report(request, *, phone: str = "", anonymous: bool = False, **captcha) -> None:
    """What the portal's report view does: guard, store (here: nothing to store), count."""
    report_guard(request, phone=phone, anonymous=anonymous, **captcha)
    report_accepted(request, phone=phone)


def answer_to(challenge: dict) -> str:
    """The right answer, read from the library's store (a person reads it from the image)."""
    return CaptchaStore.objects.get(hashkey=challenge["key"]).response


# --- The limit per address --------------------------------------------------------------------


def test_an_address_may_report_its_hourly_allowance_and_the_next_report_is_refused(db, clock):
    for _ in range(10):
        report(from_address())

    with pytest.raises(ReportRateLimited) as refused:
        report_guard(from_address(), anonymous=False)

    answer = answer_of(refused.value)
    assert (answer.status, answer.code) == (429, "rate_limited")
    assert 1 <= refused.value.retry_after <= HOUR
    assert answer.headers == {"Retry-After": str(refused.value.retry_after)}
    report_guard(from_address("198.51.100.20"), anonymous=False)  # another address is not


def test_the_address_limit_ends_with_its_window(db, clock):
    for _ in range(10):
        report(from_address())
    with pytest.raises(ReportRateLimited) as refused:
        report_guard(from_address(), anonymous=False)

    clock.shift(refused.value.retry_after - 1)
    with pytest.raises(ReportRateLimited):
        report_guard(from_address(), anonymous=False)
    clock.shift(1)

    report_guard(from_address(), anonymous=False)


def test_the_guard_counts_nothing_by_itself(db, clock):
    for _ in range(50):
        report_guard(from_address(), anonymous=False)

    assert not captcha_needed(from_address())
    for _ in range(10):
        report(from_address())


def test_refused_reports_do_not_use_up_the_next_windows_allowance(db, clock):
    for _ in range(10):
        report(from_address())
    for _ in range(20):
        with pytest.raises(ReportRateLimited):
            report_guard(from_address(), anonymous=False)

    clock.shift(HOUR)

    for _ in range(10):
        report(from_address())
    with pytest.raises(ReportRateLimited):
        report_guard(from_address(), anonymous=False)


def test_a_rate_limited_report_writes_nothing_to_the_database(db, clock):
    for _ in range(10):
        report(from_address())

    with CaptureQueriesContext(connection) as queries, pytest.raises(ReportRateLimited):
        report_guard(from_address(), anonymous=True)

    assert queries.captured_queries == []


def test_clients_in_one_ipv6_64_share_one_allowance(db, clock):
    for n in range(10):
        report(from_address(f"2001:db8:1:2::{n + 1:x}"))

    with pytest.raises(ReportRateLimited):
        report_guard(from_address("2001:db8:1:2:ffff::1"), anonymous=False)
    report_guard(from_address("2001:db8:1:3::1"), anonymous=False)


def test_an_ipv4_client_seen_through_a_dual_stack_socket_keeps_its_own_allowance(db, clock):
    for _ in range(10):
        report(from_address("::ffff:203.0.113.7"))

    with pytest.raises(ReportRateLimited):
        report_guard(from_address("203.0.113.7"), anonymous=False)
    report_guard(from_address("::ffff:203.0.113.8"), anonymous=False)


def test_a_limit_of_zero_turns_the_limit_off(db, clock, settings):
    settings.GRIDCITY_REPORTS_PER_ADDRESS_HOUR = 0

    for _ in range(30):
        report(from_address())


# --- The limit per phone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "counted"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("(0755) 2345-6789", "075523456789"),
        ("", ""),
    ],
)
def test_a_phone_is_counted_however_it_is_written(written, counted):
    assert normalise_phone(written) == counted


def test_a_phone_may_report_its_daily_allowance_from_any_address(db, clock):
    spellings = [
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "8613800138000",
        "13800138000",
    ]
    for n, phone in enumerate(spellings):
        report(from_address(f"198.51.100.{n + 1}"), phone=phone)

    with pytest.raises(ReportRateLimited) as refused:
        report_guard(from_address("198.51.100.99"), phone="+8613800138000", anonymous=False)

    answer = answer_of(refused.value)
    assert answer.status == 429
    assert list(answer.fields) == ["phone"]
    assert refused.value.retry_after <= DAY
    report_guard(from_address("198.51.100.99"), phone="13900139000", anonymous=False)


def test_the_phone_limit_ends_with_its_day(db, clock):
    for n in range(5):
        report(from_address(f"198.51.100.{n + 1}"), phone="13800138000")
    with pytest.raises(ReportRateLimited):
        report_guard(from_address("198.51.100.99"), phone="13800138000", anonymous=False)

    clock.shift(DAY)

    report_guard(from_address("198.51.100.99"), phone="13800138000", anonymous=False)


def test_the_cache_keys_hold_neither_the_phone_nor_the_address(db, clock, monkeypatch, settings):
    seen = []
    real_get_usage = abuse.get_usage

    def recording(request, *, group, key, rate, increment):
        seen.append(key(group, request))
        return real_get_usage(request, group=group, key=key, rate=rate, increment=increment)

    monkeypatch.setattr(abuse, "get_usage", recording)
    report(from_address("203.0.113.7"), phone="13800138000")
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY
    report(from_address("203.0.113.7"), phone="13800138000")

    assert len(seen) == 8
    assert not [v for v in seen if "13800138000" in v or "203.0.113.7" in v]
    first, second = seen[:4], seen[4:]
    assert set(first).isdisjoint(second)  # keyed with SECRET_KEY


# --- The captcha ------------------------------------------------------------------------------


def test_anonymous_reports_need_a_captcha_after_three_an_hour(db, clock):
    for _ in range(3):
        assert not captcha_needed(from_address())
        report(from_address(), anonymous=True)

    assert captcha_needed(from_address())
    with pytest.raises(ReportCaptchaRefused) as refused:
        report_guard(from_address(), anonymous=True)

    body = answer_of(refused.value).body()["error"]
    assert body["code"] == "captcha_required"
    assert list(body["fields"]) == ["captcha"]
    challenge = body["captcha"]
    assert challenge["image_url"] == f"/captcha/image/{challenge['key']}/"
    assert CaptchaStore.objects.filter(hashkey=challenge["key"]).exists()


def test_a_named_report_needs_no_captcha(db, clock):
    for _ in range(5):
        report(from_address(), anonymous=True, **solved(captcha_challenge()))

    report_guard(from_address(), phone="13800138000", anonymous=False)


def solved(challenge: dict) -> dict:
    return {"captcha_key": challenge["key"], "captcha_answer": answer_to(challenge)}


def test_the_right_answer_lets_an_anonymous_report_through_once(db, clock):
    for _ in range(3):
        report(from_address(), anonymous=True)
    challenge = captcha_challenge()
    answer = answer_to(challenge)

    report_guard(
        from_address(), anonymous=True, captcha_key=challenge["key"], captcha_answer=answer
    )

    with pytest.raises(ReportCaptchaRefused) as replayed:
        report_guard(
            from_address(), anonymous=True, captcha_key=challenge["key"], captcha_answer=answer
        )
    assert replayed.value.code == "captcha_invalid"


def test_the_answer_is_read_without_regard_to_case_or_spaces(db, clock):
    for _ in range(3):
        report(from_address(), anonymous=True)
    challenge = captcha_challenge()

    report_guard(
        from_address(),
        anonymous=True,
        captcha_key=challenge["key"],
        captcha_answer=f"  {answer_to(challenge).upper()} ",
    )


def test_a_wrong_answer_is_refused_with_a_new_challenge_and_uses_the_old_one_up(db, clock):
    for _ in range(3):
        report(from_address(), anonymous=True)
    challenge = captcha_challenge()
    right = answer_to(challenge)

    with pytest.raises(ReportCaptchaRefused) as refused:
        report_guard(
            from_address(), anonymous=True, captcha_key=challenge["key"], captcha_answer="zzzzz"
        )

    assert refused.value.code == "captcha_invalid"
    fresh = refused.value.challenge
    assert fresh["key"] != challenge["key"]
    assert CaptchaStore.objects.filter(hashkey=fresh["key"]).exists()
    with pytest.raises(ReportCaptchaRefused):  # no second guess at the same picture
        report_guard(
            from_address(), anonymous=True, captcha_key=challenge["key"], captcha_answer=right
        )


def test_an_expired_challenge_is_refused(db, clock, settings):
    settings.GRIDCITY_CAPTCHA_AFTER = 0  # asked at once, whatever the hour's window does
    captcha = solved(captcha_challenge())

    clock.shift(21 * 60)  # CAPTCHA_TIMEOUT: 20 minutes

    with pytest.raises(ReportCaptchaRefused) as refused:
        report_guard(from_address(), anonymous=True, **captcha)
    assert refused.value.code == "captcha_invalid"


def test_the_captcha_is_no_longer_asked_in_the_next_hour(db, clock):
    for _ in range(3):
        report(from_address(), anonymous=True)
    assert captcha_needed(from_address())

    clock.shift(HOUR)

    assert not captcha_needed(from_address())
    report_guard(from_address(), anonymous=True)


def test_the_rate_limit_comes_before_the_captcha(db, clock):
    for _ in range(10):
        report(from_address(), anonymous=True, **solved(captcha_challenge()))

    with pytest.raises(ReportRateLimited):
        report_guard(from_address(), anonymous=True, **solved(captcha_challenge()))


def test_the_captcha_image_is_drawn_here(client, db):
    challenge = captcha_challenge()

    response = client.get(challenge["image_url"])

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_the_captcha_refusal_reaches_an_api_client_with_its_challenge(db, clock):
    for _ in range(3):
        report(from_address(), anonymous=True)
    with pytest.raises(ReportCaptchaRefused) as refused:
        report_guard(from_address(), anonymous=True)

    response = error_response(answer_of(refused.value))

    assert response.status_code == 400
    body = json.loads(response.content)["error"]
    assert body["code"] == "captcha_required"
    assert body["fields"]["captcha"] == [body["message"]]
    assert set(body["captcha"]) == {"key", "image_url"}


def test_a_rate_limit_refusal_reaches_an_api_client_with_retry_after(db, clock):
    for _ in range(10):
        report(from_address())
    with pytest.raises(ReportRateLimited) as refused:
        report_guard(from_address(), anonymous=False)

    response = error_response(answer_of(refused.value))

    assert response.status_code == 429
    assert int(response["Retry-After"]) == refused.value.retry_after
    body = json.loads(response.content)["error"]
    assert body["code"] == "rate_limited"
    assert body["retry_after"] == refused.value.retry_after
    assert "minute" in body["message"]


class ReportApi(APIView):
    """A stand-in for the portal's report API: guard, store, count."""

    permission_classes = [AllowAny]
    stored: ClassVar[list] = []

    def post(self, request):
        report_guard(
            request,
            phone=request.data.get("phone", ""),
            anonymous=not request.data.get("phone"),
            captcha_key=request.data.get("captcha_key", ""),
            captcha_answer=request.data.get("captcha_answer", ""),
        )
        self.stored.append(request.data["text"])
        report_accepted(request, phone=request.data.get("phone", ""))
        return Response({"markers": spam_markers(request.data["text"])}, status=201)


def test_the_api_answers_the_refusals_in_its_error_shape_and_stores_nothing(db, clock):
    ReportApi.stored = []
    view = ReportApi.as_view()
    factory = APIRequestFactory()

    def post(**data):
        return view(factory.post("/", {"text": "路灯不亮", **data}, format="json"))

    for _ in range(3):
        assert post().status_code == 201
    refused = post()
    assert refused.status_code == 400
    challenge = refused.data["error"]["captcha"]
    assert refused.data["error"]["code"] == "captcha_required"
    accepted = post(captcha_key=challenge["key"], captcha_answer=answer_to(challenge))
    assert accepted.status_code == 201
    for phone in ["13800138000"] * 5 + ["13900139000"]:
        assert post(phone=phone).status_code == 201
    over = post(phone="13700137000")

    assert over.status_code == 429
    assert over["Retry-After"] == str(over.data["error"]["retry_after"])
    assert over.data["error"]["code"] == "rate_limited"
    assert len(ReportApi.stored) == 10  # 3 + 1 + 6: neither refusal was stored


def test_without_the_cache_anonymous_reports_need_a_captcha_and_named_ones_pass(
    db, clock, monkeypatch
):
    def cache_down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(abuse, "get_usage", cache_down)

    report(from_address(), phone="13800138000")  # counting fails quietly
    assert captcha_needed(from_address())
    with pytest.raises(ReportCaptchaRefused):
        report_guard(from_address(), anonymous=True)
    report(from_address(), anonymous=True, **solved(captcha_challenge()))


# --- The client's address ---------------------------------------------------------------------


def test_without_trusted_proxies_x_forwarded_for_is_ignored():
    request = from_address("198.51.100.20", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert client_address(request) == "198.51.100.20"


@pytest.mark.parametrize(
    ("trusted", "forwarded", "client"),
    [
        # One proxy (10.0.0.5) appends the address it saw.
        (1, "203.0.113.9", "203.0.113.9"),
        # The client wrote its own header; the proxy appended the real address after it.
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        # Client -> 10.0.0.4 -> 10.0.0.5 -> us.
        (2, "203.0.113.9, 10.0.0.4", "203.0.113.9"),
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.4", "203.0.113.9"),
        # A chain shorter than the proxies: only they wrote it.
        (2, "203.0.113.9", "203.0.113.9"),
        (1, "", "10.0.0.5"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", "10.0.0.5"),
    ],
)
def test_behind_trusted_proxies_the_hop_before_them_is_the_client(
    settings, trusted, forwarded, client
):
    settings.GRIDCITY_TRUSTED_PROXIES = trusted
    meta = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}

    assert client_address(from_address("10.0.0.5", **meta)) == client


def test_a_forged_forwarded_address_does_not_escape_the_limit(db, clock, settings):
    settings.GRIDCITY_TRUSTED_PROXIES = 1
    for n in range(10):
        report(from_address("10.0.0.5", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9"))

    with pytest.raises(ReportRateLimited):
        report_guard(
            from_address("10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.77, 203.0.113.9"),
            anonymous=False,
        )


# --- Spam markers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "小区门口垃圾堆积三天无人清理，气味很大",
        "宝安大道与创业路交叉口的井盖松动，车辆经过响声很大，晚上十点后尤其明显。",
        "楼下餐馆油烟直排，老板电话13800138000，多次沟通无果。",
        "路灯坏了！！！晚上很黑",
        "业主微信群里很多人反映，3栋电梯经常停运。",
        "共享单车乱停放占用盲道，约有30辆。",
        "",
    ],
)
def test_ordinary_complaints_have_no_spam_markers(text):
    assert spam_markers(text) == []


@pytest.mark.parametrize(
    ("text", "markers"),
    [
        ("优惠详情请看 http://example.com/a", ["link"]),
        ("访问www.example.cn了解", ["link"]),
        ("网址abc-shop.top速来", ["link"]),
        ("啊啊啊啊啊啊啊啊啊啊啊啊", ["repeated_character"]),
        ("！！！！！！！！！！", ["repeated_character"]),
        ("电话13800138000或139 0013 9000", ["phone_numbers"]),
        ("联系+86 138-0013-8000，备用15012345678", ["phone_numbers"]),
        ("加QQ：12345678了解", ["qq_id"]),
        ("扣扣号 987654321", ["qq_id"]),
        ("加微信abc_123456详谈", ["wechat_id"]),
        ("ＶＸ：ｓｅｌｌｅｒ８８", ["wechat_id"]),
        ("微信号13800138000", ["wechat_id"]),
        (
            "代开发票加微信fapiao888，QQ 10001000，电话13800138000、13900139000 www.fp.com",
            ["link", "phone_numbers", "qq_id", "wechat_id"],
        ),
    ],
)
def test_spam_markers_are_found(text, markers):
    assert spam_markers(text) == markers


def test_words_of_the_blocklist_are_found_ignoring_case_and_width(settings):
    settings.GRIDCITY_SPAM_WORDS = ["代开发票", "Casino"]

    assert spam_markers("专业代开发票") == ["blocked_word"]
    assert spam_markers("ｃａｓｉｎｏ online now") == ["blocked_word"]
    assert spam_markers("小区门口垃圾堆积三天无人清理，气味很大") == []


def test_expired_captcha_challenges_are_purged_every_hour(db, settings, time_machine):
    time_machine.move_to("2026-11-24 10:00 +08:00", tick=False)
    old = captcha_challenge()["key"]
    time_machine.shift(timedelta(minutes=settings.CAPTCHA_TIMEOUT + 1))
    fresh = captcha_challenge()["key"]

    assert captcha_challenges_expired_purge() == 1
    assert list(CaptchaStore.objects.values_list("hashkey", flat=True)) == [fresh]
    assert old != fresh
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "portal.tasks.captcha_challenges_expired_purge_task" in tasks
