import datetime as dt

from inbox.hours import business_duration, is_open, next_opening

UTC = dt.timezone.utc
WEEKDAYS_9_18 = {str(d): [["09:00", "18:00"]] for d in range(5)}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_open_and_next_opening():
    friday_evening = at("2030-01-04T19:00")  # a Friday
    assert not is_open(WEEKDAYS_9_18, "UTC", friday_evening)
    assert next_opening(WEEKDAYS_9_18, "UTC", friday_evening) == at("2030-01-07T09:00")
    assert is_open({}, "UTC", friday_evening) and next_opening({}, "UTC", friday_evening) == friday_evening


def test_business_duration_skips_nights_and_weekends():
    # Friday 17:00 to Monday 09:10: one hour on Friday, ten minutes on Monday.
    assert business_duration(WEEKDAYS_9_18, "UTC", at("2030-01-04T17:00"), at("2030-01-07T09:10")) == dt.timedelta(minutes=70)
    assert business_duration({}, "UTC", at("2030-01-04T17:00"), at("2030-01-04T19:00")) == dt.timedelta(hours=2)
    assert business_duration(WEEKDAYS_9_18, "UTC", at("2030-01-05T10:00"), at("2030-01-05T12:00")) == dt.timedelta(0)
    assert business_duration(WEEKDAYS_9_18, "UTC", at("2030-01-07T12:00"), at("2030-01-07T11:00")) == dt.timedelta(0)


def test_business_duration_uses_the_inbox_time_zone():
    # 09:00-18:00 in São Paulo (UTC-3) is 12:00-21:00 UTC.
    start, end = at("2030-01-07T11:00"), at("2030-01-07T13:00")
    assert business_duration(WEEKDAYS_9_18, "America/Sao_Paulo", start, end) == dt.timedelta(hours=1)
