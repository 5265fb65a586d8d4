"""parse_date: many formats in, aware UTC out; naive values take the site's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feedsvc.normalize import parse_date
from feedsvc.normalize.dates import read_free_form

BOGOTA = ZoneInfo("America/Bogota")  # UTC-5, no daylight saving time
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO 8601 / RFC 3339: dates alone are midnight in the site's zone.
        ("2017-06-09", datetime(2017, 6, 9, 5, 0, tzinfo=UTC)),
        ("2017-06-09T10:00", datetime(2017, 6, 9, 15, 0, tzinfo=UTC)),
        ("2017-06-09 10:00:30", datetime(2017, 6, 9, 15, 0, 30, tzinfo=UTC)),
        ("2017-06-09T10:00:00Z", datetime(2017, 6, 9, 10, 0, tzinfo=UTC)),
        ("2017-06-09T10:00:00+02:00", datetime(2017, 6, 9, 8, 0, tzinfo=UTC)),
        ("2017-06-09T10:00:00.250-03:00", datetime(2017, 6, 9, 13, 0, 0, 250000, tzinfo=UTC)),
        # RFC 822 / RFC 2822, as RSS <pubDate> has them.
        ("Fri, 09 Jun 2017 10:00:00 GMT", datetime(2017, 6, 9, 10, 0, tzinfo=UTC)),
        ("Fri, 09 Jun 2017 10:00:00 +0200", datetime(2017, 6, 9, 8, 0, tzinfo=UTC)),
        ("09 Jun 2017 10:00 PST", datetime(2017, 6, 9, 18, 0, tzinfo=UTC)),
        # RFC 5322 §3.3: -0000 is UTC, not "local".
        ("Fri, 09 Jun 2017 10:00:00 -0000", datetime(2017, 6, 9, 10, 0, tzinfo=UTC)),
        # Free forms people write.
        ("June 9, 2017", datetime(2017, 6, 9, 5, 0, tzinfo=UTC)),
        ("9 June 2017 10:30", datetime(2017, 6, 9, 15, 30, tzinfo=UTC)),
        ("2017/06/09", datetime(2017, 6, 9, 5, 0, tzinfo=UTC)),
        ("  2017-06-09  ", datetime(2017, 6, 9, 5, 0, tzinfo=UTC)),
    ],
)
def test_formats(text: str, expected: datetime) -> None:
    parsed = parse_date(text, BOGOTA)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_naive_values_take_the_site_zone_with_its_daylight_saving_time() -> None:
    assert parse_date("2017-01-09T10:00", NEW_YORK) == datetime(2017, 1, 9, 15, tzinfo=UTC)
    assert parse_date("2017-07-09T10:00", NEW_YORK) == datetime(2017, 7, 9, 14, tzinfo=UTC)


def test_explicit_offsets_ignore_the_site_zone() -> None:
    text = "2017-06-09T10:00:00+00:00"
    assert parse_date(text, NEW_YORK) == parse_date(text, BOGOTA)


def test_date_and_datetime_objects_from_other_sources() -> None:
    assert parse_date(date(2017, 6, 9), BOGOTA) == datetime(2017, 6, 9, 5, tzinfo=UTC)
    assert parse_date(datetime(2017, 6, 9, 10), BOGOTA) == datetime(2017, 6, 9, 15, tzinfo=UTC)
    aware = datetime(2017, 6, 9, 10, tzinfo=UTC)
    assert parse_date(aware, BOGOTA) == aware


@pytest.mark.parametrize("text", ["garbage", "", "   ", "2017-13-45", "next tuesday-ish"])
def test_unreadable_dates_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_date(text, BOGOTA)


@pytest.mark.parametrize("text", ["June 2017", "10:00", "June 9"])
def test_incomplete_dates_are_refused_not_filled_from_today(text: str) -> None:
    with pytest.raises(ValueError, match="lacks a year, month or day"):
        parse_date(text, BOGOTA)


def test_non_text_values_raise_value_error() -> None:
    with pytest.raises(ValueError, match="expected a date"):
        parse_date(["2017-06-09"], BOGOTA)  # type: ignore[arg-type]


def test_read_free_form_refuses_what_lacks_a_date_field_and_uses_the_zone_hook() -> None:
    # The one date-probing rule, shared by post dates and partner dates (remote/loose.py).
    assert read_free_form("June 9, 2017 10:00") == datetime(2017, 6, 9, 10, 0)
    assert read_free_form("June 9 10:00") is None  # no year
    assert read_free_form("2017 10:00") is None  # no month or day
    zones = {"CEST": timezone(timedelta(hours=2))}
    read = read_free_form("June 9, 2017 10:00 CEST", tzinfos=lambda name, _: zones.get(name or ""))
    assert read == datetime(2017, 6, 9, 8, 0, tzinfo=UTC)
