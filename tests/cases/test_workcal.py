"""cases.workcal: the working calendar that case time limits (处置时限) are computed on.

No database: plain functions on dates and aware datetimes. Holiday facts used below come from
chinese_calendar 1.11 (State Council notice for 2026):
- National Day 国庆节 2026: off Thu 1 Oct – Wed 7 Oct; make-up working days Sun 20 Sep and
  Sat 10 Oct. Mid-Autumn 中秋节: off Fri 25 – Sun 27 Sep.
- Spring Festival 春节 2026: off Sun 15 Feb – Mon 23 Feb; make-up working days Sat 14 Feb and
  Sat 28 Feb.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.workcal import (
    CLOCK_HOURS,
    WORK_DAYS,
    WORK_HOURS,
    WorkCalendar,
    calendar_known,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def at(year, month, day, hour=0, minute=0):
    """A Shanghai wall-clock instant."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# -- National Day 2026 ---------------------------------------------------------------------


def test_the_package_data_matches_the_2026_national_day_notice():
    assert CAL.is_working_day(date(2026, 9, 30))
    assert not any(CAL.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert CAL.is_working_day(date(2026, 10, 8))


def test_work_hours_dispatched_before_national_day_run_on_after_the_holiday():
    # Wed 30 Sep 16:00: 2 h left that day, the other 2 h on Thu 8 Oct from 08:30.
    assert CAL.deadline(at(2026, 9, 30, 16), 4, WORK_HOURS) == at(2026, 10, 8, 10, 30)


def test_one_work_day_dispatched_before_national_day_is_due_at_the_same_time_after_it():
    # 2 h on 30 Sep, 5.5 h on 8 Oct: 08:30–12:00 and 14:00–16:00.
    assert CAL.deadline(at(2026, 9, 30, 16), 1, WORK_DAYS) == at(2026, 10, 8, 16)


def test_the_make_up_saturday_after_national_day_is_a_working_day():
    assert CAL.is_working_day(date(2026, 10, 10))
    assert not CAL.is_working_day(date(2026, 10, 11))
    assert CAL.deadline(at(2026, 10, 9, 16), 1, WORK_DAYS) == at(2026, 10, 10, 16)
    assert CAL.deadline(at(2026, 10, 10, 17), 2, WORK_HOURS) == at(2026, 10, 12, 9, 30)


def test_the_make_up_sunday_before_mid_autumn_is_a_working_day():
    assert CAL.is_working_day(date(2026, 9, 20))
    assert not CAL.is_working_day(date(2026, 9, 19))
    # Fri 18 Sep 17:00: 1 h that day, Saturday off, the next hour on Sunday 20 Sep.
    assert CAL.deadline(at(2026, 9, 18, 17), 2, WORK_HOURS) == at(2026, 9, 20, 9, 30)


def test_mid_autumn_2026_skips_friday_to_sunday():
    assert CAL.deadline(at(2026, 9, 24, 17), 1, WORK_DAYS) == at(2026, 9, 28, 17)


def test_time_over_national_day_counts_only_working_hours():
    seconds = CAL.working_seconds_between(at(2026, 9, 30, 16), at(2026, 10, 8, 10, 30))
    assert seconds == 4 * 3600


# -- Spring Festival 2026 ------------------------------------------------------------------


def test_spring_festival_2026_make_up_saturday_counts_and_the_holiday_does_not():
    assert CAL.is_working_day(date(2026, 2, 14))
    assert not any(CAL.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert CAL.deadline(at(2026, 2, 13, 16), 1, WORK_DAYS) == at(2026, 2, 14, 16)
    assert CAL.deadline(at(2026, 2, 14, 16), 4, WORK_HOURS) == at(2026, 2, 24, 10, 30)


def test_a_case_dispatched_during_spring_festival_starts_after_it():
    assert CAL.deadline(at(2026, 2, 18, 10), 1, WORK_HOURS) == at(2026, 2, 24, 9, 30)


# -- where the clock starts and stops --------------------------------------------------------


def test_a_limit_ending_at_noon_ends_at_noon():
    assert CAL.deadline(at(2026, 3, 4, 10), 2, WORK_HOURS) == at(2026, 3, 4, 12)


def test_a_limit_ending_at_the_end_of_the_day_ends_that_evening():
    assert CAL.deadline(at(2026, 3, 4, 16), 2, WORK_HOURS) == at(2026, 3, 4, 18)
    assert CAL.deadline(at(2026, 3, 4, 8, 30), 1, WORK_DAYS) == at(2026, 3, 4, 18)


def test_a_limit_running_past_noon_resumes_at_two():
    assert CAL.deadline(at(2026, 3, 4, 11), 2, WORK_HOURS) == at(2026, 3, 4, 15)


def test_a_case_dispatched_in_the_lunch_break_starts_at_two():
    assert CAL.deadline(at(2026, 3, 4, 12, 30), 1, WORK_HOURS) == at(2026, 3, 4, 15)
    assert CAL.deadline(at(2026, 3, 4, 12), 1, WORK_HOURS) == at(2026, 3, 4, 15)


def test_a_case_dispatched_before_half_past_eight_starts_at_half_past_eight():
    assert CAL.deadline(at(2026, 3, 4, 7), 1, WORK_HOURS) == at(2026, 3, 4, 9, 30)
    assert CAL.deadline(at(2026, 3, 4, 0), 1, WORK_DAYS) == at(2026, 3, 4, 18)


def test_a_case_dispatched_after_six_starts_the_next_working_morning():
    assert CAL.deadline(at(2026, 3, 4, 19), 1, WORK_HOURS) == at(2026, 3, 5, 9, 30)
    assert CAL.deadline(at(2026, 3, 4, 18), 0.5, WORK_HOURS) == at(2026, 3, 5, 9)
    # Friday evening: the weekend is skipped.
    assert CAL.deadline(at(2026, 3, 6, 20), 1, WORK_HOURS) == at(2026, 3, 9, 9, 30)


def test_a_case_dispatched_on_a_sunday_starts_on_monday_morning():
    assert CAL.deadline(at(2026, 3, 8, 10), 1, WORK_HOURS) == at(2026, 3, 9, 9, 30)
    assert CAL.deadline(at(2026, 3, 8, 10), 1, WORK_DAYS) == at(2026, 3, 9, 18)


def test_work_days_keep_the_time_of_day():
    assert CAL.deadline(at(2026, 3, 4, 10), 1, WORK_DAYS) == at(2026, 3, 5, 10)
    assert CAL.deadline(at(2026, 3, 4, 10), 3, WORK_DAYS) == at(2026, 3, 9, 10)


def test_a_work_day_is_the_length_of_the_working_periods():
    assert CAL.day_length == timedelta(hours=7, minutes=30)
    assert CAL.day_length_hours == 7.5
    start = at(2026, 3, 4, 15, 17)
    for n in (0.5, 1, 2, 7):
        assert CAL.deadline(start, n, WORK_DAYS) == CAL.deadline(start, n * 7.5, WORK_HOURS)


def test_half_a_work_day_is_three_and_three_quarter_hours():
    assert CAL.deadline(at(2026, 3, 4, 8, 30), Decimal("0.5"), WORK_DAYS) == at(2026, 3, 4, 14, 15)


def test_custom_periods_change_the_working_day():
    cal = WorkCalendar(periods=((time(9), time(17)),))
    assert cal.day_length_hours == 8
    assert cal.deadline(at(2026, 3, 4, 16), 2, WORK_HOURS) == at(2026, 3, 5, 10)
    assert cal.deadline(at(2026, 3, 4, 12), 1, WORK_DAYS) == at(2026, 3, 5, 12)


@pytest.mark.parametrize(
    "periods",
    [
        (),
        ((time(12), time(8, 30)),),
        ((time(14), time(18)), (time(8, 30), time(12))),
        ((time(8, 30), time(14, 30)), (time(14), time(18))),
    ],
)
def test_empty_reversed_or_overlapping_periods_are_rejected(periods):
    with pytest.raises(ValueError):
        WorkCalendar(periods=periods)


def test_a_zero_limit_is_due_at_once():
    assert CAL.deadline(at(2026, 3, 8, 10), 0, WORK_HOURS) == at(2026, 3, 8, 10)
    assert CAL.deadline(at(2026, 3, 4, 10), 0, WORK_DAYS) == at(2026, 3, 4, 10)


def test_fractional_and_decimal_amounts_are_counted_to_the_minute():
    assert CAL.deadline(at(2026, 3, 4, 10), 1.25, WORK_HOURS) == at(2026, 3, 4, 11, 15)
    assert CAL.deadline(at(2026, 3, 4, 10), Decimal("2.5"), WORK_HOURS) == at(2026, 3, 4, 14, 30)


# -- clock hours ---------------------------------------------------------------------------


def test_clock_hours_ignore_holidays_and_nights():
    assert CAL.deadline(at(2026, 9, 30, 16), 24, CLOCK_HOURS) == at(2026, 10, 1, 16)
    assert CAL.deadline(at(2026, 10, 3, 23, 50), 0.5, CLOCK_HOURS) == at(2026, 10, 4, 0, 20)
    assert CAL.deadline(at(2026, 2, 14, 20), 72, CLOCK_HOURS) == at(2026, 2, 17, 20)


# -- administrator overrides ---------------------------------------------------------------


def test_an_override_turning_a_working_day_into_a_holiday_pushes_the_deadline():
    cal = WorkCalendar(overrides={date(2026, 3, 4): False})
    assert not cal.is_working_day(date(2026, 3, 4))
    assert CAL.deadline(at(2026, 3, 3, 16), 4, WORK_HOURS) == at(2026, 3, 4, 10, 30)
    assert cal.deadline(at(2026, 3, 3, 16), 4, WORK_HOURS) == at(2026, 3, 5, 10, 30)


def test_an_override_turning_a_sunday_into_a_working_day_pulls_the_deadline():
    cal = WorkCalendar(overrides={date(2026, 3, 8): True})
    assert cal.is_working_day(date(2026, 3, 8))
    assert CAL.deadline(at(2026, 3, 6, 16), 4, WORK_HOURS) == at(2026, 3, 9, 10, 30)
    assert cal.deadline(at(2026, 3, 6, 16), 4, WORK_HOURS) == at(2026, 3, 8, 10, 30)


def test_overrides_win_over_statutory_holidays_and_make_up_days():
    cal = WorkCalendar(overrides={date(2026, 10, 8): False, date(2026, 10, 10): False})
    assert cal.deadline(at(2026, 9, 30, 16), 4, WORK_HOURS) == at(2026, 10, 9, 10, 30)
    assert cal.deadline(at(2026, 10, 9, 16), 1, WORK_DAYS) == at(2026, 10, 12, 16)


def test_overrides_change_working_time_between_instants():
    cal = WorkCalendar(overrides={date(2026, 3, 4): False})
    assert cal.working_seconds_between(at(2026, 3, 3, 16), at(2026, 3, 5, 10, 30)) == 4 * 3600


def test_a_calendar_built_from_a_dict_is_immutable_and_hashable():
    source = {date(2026, 3, 4): False}
    cal = WorkCalendar(overrides=source)
    source[date(2026, 3, 5)] = False  # the calendar kept its own copy
    assert not cal.is_working_day(date(2026, 3, 4))
    assert cal.is_working_day(date(2026, 3, 5))
    with pytest.raises(TypeError):
        cal.overrides[date(2026, 3, 6)] = False
    assert hash(cal) == hash(WorkCalendar(overrides={date(2026, 3, 4): False}))
    assert cal == WorkCalendar(overrides={date(2026, 3, 4): False})
    assert cal != CAL


def test_datetime_override_keys_are_rejected():
    with pytest.raises(TypeError):
        WorkCalendar(overrides={datetime(2026, 3, 4, tzinfo=SHANGHAI): False})


# -- years the package does not know -------------------------------------------------------


def test_an_unknown_year_falls_back_to_monday_to_friday():
    assert calendar_known(2026)
    assert not calendar_known(2027)
    assert not calendar_known(2003)
    # 1 Jan 2027 is a Friday: a working day until somebody adds the holiday as an override.
    assert CAL.is_working_day(date(2027, 1, 1))
    assert CAL.uses_fallback(date(2027, 1, 1))
    assert not CAL.is_working_day(date(2027, 1, 2))
    assert CAL.deadline(at(2026, 12, 31, 16), 4, WORK_HOURS) == at(2027, 1, 1, 10, 30)
    assert CAL.deadline(at(2027, 1, 8, 16), 1, WORK_DAYS) == at(2027, 1, 11, 16)


def test_overrides_fill_in_an_unknown_year():
    cal = WorkCalendar(overrides={date(2027, 1, 1): False})
    assert not cal.uses_fallback(date(2027, 1, 1))
    assert cal.deadline(at(2026, 12, 31, 16), 4, WORK_HOURS) == at(2027, 1, 4, 10, 30)


# -- working time between two instants -------------------------------------------------------


def test_no_working_time_passes_backwards_or_over_a_weekend():
    assert CAL.working_seconds_between(at(2026, 3, 5), at(2026, 3, 4)) == 0
    assert CAL.working_seconds_between(at(2026, 3, 4, 10), at(2026, 3, 4, 10)) == 0
    assert CAL.working_seconds_between(at(2026, 3, 6, 18), at(2026, 3, 9, 8, 30)) == 0
    assert CAL.working_seconds_between(at(2026, 3, 4, 12), at(2026, 3, 4, 14)) == 0


def test_working_time_within_a_day_skips_the_lunch_break():
    assert CAL.working_seconds_between(at(2026, 3, 4, 11), at(2026, 3, 4, 15)) == 2 * 3600
    assert CAL.working_seconds_between(at(2026, 3, 4), at(2026, 3, 5)) == 7.5 * 3600


def test_a_whole_year_has_its_statutory_working_days():
    workdays = chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31))
    seconds = CAL.working_seconds_between(at(2026, 1, 1), at(2027, 1, 1))
    assert seconds == len(workdays) * 7.5 * 3600
    assert CAL.working_days_between(date(2026, 1, 1), date(2027, 1, 1)) == len(workdays)


def test_long_spans_agree_with_counting_day_by_day():
    first, stop = date(2025, 11, 17), date(2026, 4, 2)
    by_day = sum(CAL.is_working_day(first + timedelta(days=i)) for i in range((stop - first).days))
    assert CAL.working_days_between(first, stop) == by_day


@pytest.mark.parametrize(
    ("start", "amount", "unit"),
    [
        (at(2026, 9, 30, 16), 4, WORK_HOURS),
        (at(2026, 9, 30, 16), 1, WORK_DAYS),
        (at(2026, 2, 12, 11, 59), 20, WORK_DAYS),
        (at(2026, 3, 8, 3), 13.25, WORK_HOURS),
        (at(2026, 12, 30, 17), 10, WORK_DAYS),
    ],
)
def test_deadline_and_working_time_agree(start, amount, unit):
    hours = amount * 7.5 if unit == WORK_DAYS else amount
    end = CAL.deadline(start, amount, unit)
    assert CAL.working_seconds_between(start, end) == pytest.approx(hours * 3600, abs=1e-6)


# -- time zones and validation ---------------------------------------------------------------


def test_deadlines_are_aware_and_in_shanghai_time():
    for unit in (WORK_HOURS, WORK_DAYS, CLOCK_HOURS):
        result = CAL.deadline(at(2026, 3, 4, 10), 3, unit)
        assert result.tzinfo == SHANGHAI
        assert result.utcoffset() == timedelta(hours=8)


def test_a_utc_start_gives_the_same_instant():
    local = at(2026, 9, 30, 16)
    utc = local.astimezone(UTC)
    assert utc.hour == 8
    for unit in (WORK_HOURS, WORK_DAYS, CLOCK_HOURS):
        result = CAL.deadline(utc, 4, unit)
        assert result == CAL.deadline(local, 4, unit)
        assert result.tzinfo == SHANGHAI
    assert CAL.deadline(utc, 4, WORK_HOURS) == datetime(2026, 10, 8, 2, 30, tzinfo=UTC)


def test_a_utc_start_late_in_the_utc_day_is_read_as_the_next_shanghai_day():
    # 2026-09-30 20:00 UTC is Thu 1 Oct 04:00 in Shanghai: a holiday, not Wednesday evening.
    utc = datetime(2026, 9, 30, 20, tzinfo=UTC)
    assert CAL.deadline(utc, 1, WORK_HOURS) == at(2026, 10, 8, 9, 30)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        CAL.deadline(datetime(2026, 3, 4, 10), 1, WORK_HOURS)
    with pytest.raises(ValueError):
        CAL.working_seconds_between(datetime(2026, 3, 4, 10), at(2026, 3, 4, 11))


@pytest.mark.parametrize("unit", ["hours", "", "WORK_HOURS", None])
def test_an_unknown_unit_is_rejected(unit):
    with pytest.raises(ValueError, match="unit"):
        CAL.deadline(at(2026, 3, 4, 10), 1, unit)


@pytest.mark.parametrize("amount", [-1, -0.5, Decimal("-1"), float("nan"), float("inf")])
@pytest.mark.parametrize("unit", [WORK_HOURS, WORK_DAYS, CLOCK_HOURS])
def test_negative_or_non_finite_limits_are_rejected(amount, unit):
    with pytest.raises(ValueError):
        CAL.deadline(at(2026, 3, 4, 10), amount, unit)


# -- properties ----------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2026, 12, 31, 23, 59, 59),
    timezones=st.just(SHANGHAI),
)
amounts = st.one_of(
    st.integers(min_value=0, max_value=300),
    st.floats(min_value=0, max_value=300, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=300, places=2),
)
units = st.sampled_from([WORK_HOURS, WORK_DAYS, CLOCK_HOURS])
property_settings = settings(max_examples=300, deadline=None)


def in_working_time(cal, instant):
    local = instant.astimezone(cal.tz)
    t = local.time()
    return cal.is_working_day(local.date()) and any(s < t <= e for s, e in cal.periods)


@property_settings
@given(start=starts, a=amounts, b=amounts, unit=units)
def test_deadline_is_never_before_start_and_grows_with_the_limit(start, a, b, unit):
    low, high = sorted((a, b))
    due_low = CAL.deadline(start, low, unit)
    due_high = CAL.deadline(start, high, unit)
    assert start <= due_low <= due_high
    if unit != CLOCK_HOURS and due_high > start:  # limits under ½ µs round to zero: due at once
        assert in_working_time(CAL, due_high)


@property_settings
@given(start=starts, hours=amounts)
def test_working_time_up_to_the_deadline_is_the_limit(start, hours):
    end = CAL.deadline(start, hours, WORK_HOURS)
    assert abs(CAL.working_seconds_between(start, end) - float(hours) * 3600) <= 1e-6


@property_settings
@given(start=starts, days=st.integers(min_value=0, max_value=40))
def test_work_days_are_work_hours_of_day_length(start, days):
    assert CAL.deadline(start, days, WORK_DAYS) == CAL.deadline(start, days * 7.5, WORK_HOURS)


@property_settings
@given(a=starts, b=starts, c=starts)
def test_working_time_adds_up_over_consecutive_spans(a, b, c):
    a, b, c = sorted((a, b, c))
    whole = CAL.working_seconds_between(a, c)
    parts = CAL.working_seconds_between(a, b) + CAL.working_seconds_between(b, c)
    assert whole == pytest.approx(parts, abs=1e-6)
