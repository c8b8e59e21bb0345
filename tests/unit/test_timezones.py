"""Time zones from a shared location, a typed place or a UTC offset, and the local time."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.timezones import (
    Certainty,
    ZoneMatch,
    _stream_json_object_values,
    is_valid_zone,
    local_time_label,
    normalize,
    resolve_zone_text,
    zone_for_location,
    zone_for_offset,
    zones_for_text,
)

EXACT, FUZZY = Certainty.EXACT, Certainty.FUZZY

# --- shared locations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude", "zone"),
    [
        pytest.param(52.5200, 13.4050, "Europe/Berlin", id="berlin"),
        pytest.param(40.7128, -74.0060, "America/New_York", id="new-york"),
        pytest.param(-23.5505, -46.6333, "America/Sao_Paulo", id="sao-paulo"),
        pytest.param(-31.5554, 159.0821, "Australia/Lord_Howe", id="lord-howe-island"),
        pytest.param(27.7172, 85.3240, "Asia/Kathmandu", id="kathmandu"),
        # at sea the nautical zone; its Etc name has the sign inverted (UTC-2 here)
        pytest.param(0.0, -30.0, "Etc/GMT+2", id="mid-atlantic"),
        pytest.param(-40.0, -140.0, "Etc/GMT+9", id="mid-pacific"),
    ],
)
def test_zone_for_location(latitude: float, longitude: float, zone: str) -> None:
    assert zone_for_location(latitude, longitude) == zone


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(90.5, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (math.nan, 0.0), (0.0, math.inf)],
)
def test_zone_for_location_rejects_impossible_coordinates(
    latitude: float, longitude: float
) -> None:
    assert zone_for_location(latitude, longitude) is None


# --- typed places ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone", "place", "certainty"),
    [
        ("Berlin", "Europe/Berlin", "Berlin, Germany", EXACT),
        ("new york", "America/New_York", None, EXACT),
        ("New York City", "America/New_York", "New York City, New York, United States", EXACT),
        ("NYC", "America/New_York", "New York City, New York, United States", EXACT),
        ("Los Angeles", "America/Los_Angeles", "Los Angeles, California, United States", EXACT),
        ("London", "Europe/London", "London, United Kingdom", EXACT),
        ("Sydney", "Australia/Sydney", "Sydney, Australia", EXACT),
        ("Mumbai", "Asia/Kolkata", "Mumbai, India", EXACT),
        # an alternate name, shown under the city's own name
        ("Bombay", "Asia/Kolkata", "Mumbai, India", EXACT),
        # too small for the city list; found through the tz database's own place name
        ("Lord Howe", "Australia/Lord_Howe", "Lord Howe, Australia", EXACT),
        ("Kathmandu", "Asia/Kathmandu", "Kathmandu, Nepal", EXACT),
        # IANA names typed directly, any case
        ("Europe/Berlin", "Europe/Berlin", "Europe/Berlin", EXACT),
        ("europe/berlin", "Europe/Berlin", "Europe/Berlin", EXACT),
        ("AMERICA/NEW_YORK", "America/New_York", "America/New_York", EXACT),
        ("america/new york", "America/New_York", "America/New_York", EXACT),
        # accents and case do not matter
        ("São Paulo", "America/Sao_Paulo", "São Paulo, Brazil", EXACT),
        ("sao paulo", "America/Sao_Paulo", "São Paulo, Brazil", EXACT),
        ("SÃO PAULO", "America/Sao_Paulo", "São Paulo, Brazil", EXACT),
        ("zurich", "Europe/Zurich", "Zürich, Switzerland", EXACT),
        ("Tromso", "Europe/Oslo", "Tromsø, Norway", EXACT),  # ø has no NFKD decomposition
        ("  münchen ", "Europe/Berlin", "Munich, Germany", EXACT),
        # a trailing country or US state narrows it down
        ("berlin germany", "Europe/Berlin", "Berlin, Germany", EXACT),
        ("Paris, France", "Europe/Paris", "Paris, France", EXACT),
        ("Paris FR", "Europe/Paris", "Paris, France", EXACT),
        ("Paris, Texas", "America/Chicago", "Paris, Texas, United States", EXACT),
        ("paris tx", "America/Chicago", "Paris, Texas, United States", EXACT),
        ("Portland OR", "America/Los_Angeles", "Portland, Oregon, United States", EXACT),
        ("Portland, Maine", "America/New_York", "Portland, Maine, United States", EXACT),
        ("London, UK", "Europe/London", "London, United Kingdom", EXACT),
        # small typos
        ("Berln", "Europe/Berlin", "Berlin, Germany", FUZZY),
        ("Amsterdm", "Europe/Amsterdam", "Amsterdam, The Netherlands", FUZZY),
        ("Brelin", "Europe/Berlin", "Berlin, Germany", FUZZY),
        ("Los Angelos", "America/Los_Angeles", None, FUZZY),
        ("Pariss, France", "Europe/Paris", "Paris, France", FUZZY),
        # a country or a US state on its own
        ("Germany", "Europe/Berlin", "Germany", EXACT),
        ("Lebanon", "Asia/Beirut", "Lebanon", EXACT),
        ("Arizona", "America/Phoenix", "Arizona, United States", EXACT),
        # abbreviations and chatty answers
        ("EST", "America/New_York", "US Eastern time", EXACT),
        ("cet", "Europe/Berlin", "Central European time", EXACT),
        ("I live in Berlin", "Europe/Berlin", "Berlin, Germany", EXACT),
        ("Berlin time", "Europe/Berlin", "Berlin, Germany", EXACT),
    ],
)
def test_zones_for_text_best_match(
    text: str, zone: str, place: str | None, certainty: Certainty
) -> None:
    matches = zones_for_text(text)
    assert matches, f"nothing for {text!r}"
    best = matches[0]
    assert (best.zone, best.certainty) == (zone, certainty)
    if place is not None:
        assert best.place == place
    assert all(match.certainty is certainty for match in matches)


@pytest.mark.parametrize(
    "text", ["asdfgh", "my house", "🍑", "", "   ", "no", "hello", "qwertyuiop", "12345", "?!"]
)
def test_nonsense_matches_nothing(text: str) -> None:
    assert zones_for_text(text) == []
    assert resolve_zone_text(text) == []


def test_exact_matches_are_ordered_by_population_one_per_zone() -> None:
    zones = [match.zone for match in zones_for_text("London")]
    assert zones == ["Europe/London", "America/Toronto"]
    # eight Springfields, in three zones; each zone shows its biggest
    springfields = zones_for_text("Springfield", limit=10)
    assert [(match.zone, match.place) for match in springfields] == [
        ("America/Chicago", "Springfield, Missouri, United States"),
        ("America/New_York", "Springfield, Massachusetts, United States"),
        ("America/Los_Angeles", "Springfield, Oregon, United States"),
    ]


def test_names_are_preferred_over_alternate_names() -> None:
    # By population Russia's Saint Petersburg and Guangzhou (alternate names here: "St.
    # Petersburg", "Canton") would come first; big cities and small towns both yield.
    zones = [match.zone for match in zones_for_text("St. Petersburg")]
    assert zones == ["America/New_York", "Europe/Moscow"]
    zones = [match.zone for match in zones_for_text("Canton")]
    assert zones == ["America/Detroit", "America/New_York", "Asia/Shanghai"]


def test_countries_come_first_then_big_cities_then_us_states() -> None:
    # Lebanon the country before Lebanon, Tennessee; Washington, DC before Washington
    # state; Arizona the state before Arizona, Honduras (a town of ~20k)
    assert zones_for_text("Lebanon")[0].zone == "Asia/Beirut"
    assert [match.zone for match in zones_for_text("Washington")][:2] == [
        "America/New_York",
        "America/Los_Angeles",
    ]
    assert [match.zone for match in zones_for_text("Arizona")] == [
        "America/Phoenix",
        "America/Tegucigalpa",
    ]


def test_no_fuzzy_matches_when_something_matches_exactly() -> None:
    # "Bern" is one edit from "Berlin", which must not be offered next to Bern itself.
    assert zones_for_text("Bern") == [ZoneMatch("Europe/Zurich", "Bern, Switzerland", EXACT)]


def test_a_qualifier_that_leaves_nothing_does_not_fall_back_to_other_countries() -> None:
    assert zones_for_text("Berlin, USA") == []


def test_a_country_with_several_zones_offers_each() -> None:
    matches = zones_for_text("United States")
    assert [match.zone for match in matches] == [
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
    ]
    assert matches[0].place.startswith("United States (")


def test_ambiguous_abbreviations_offer_each_meaning() -> None:
    assert [match.zone for match in zones_for_text("IST")] == [
        "Asia/Kolkata",
        "Europe/Dublin",
        "Asia/Jerusalem",
    ]


def test_limit() -> None:
    assert len(zones_for_text("Springfield")) == 3
    assert len(zones_for_text("Springfield", limit=1)) == 1
    assert zones_for_text("Springfield", limit=0) == []


def test_zone_match_is_frozen() -> None:
    match = zones_for_text("Berlin")[0]
    assert match.is_exact
    with pytest.raises(AttributeError):
        match.zone = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "normalized"),
    [("São Paulo", "sao paulo"), ("  ZÜRICH ", "zurich"), ("St. John's", "st johns"),
     ("Tromsø", "tromso"), ("Straße", "strasse"), ("🍑", "")],
)  # fmt: skip
def test_normalize(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


# --- offsets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("UTC+2", "Etc/GMT-2"),
        ("utc +2", "Etc/GMT-2"),
        ("UTC + 02:00", "Etc/GMT-2"),
        ("GMT-5", "Etc/GMT+5"),
        ("−5", "Etc/GMT+5"),  # a typographic minus, as phones type it
        ("-03:00", "Etc/GMT+3"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("+0", "UTC"),
        ("+14", "Etc/GMT-14"),
        ("-12", "Etc/GMT+12"),
        ("+5:30", "Asia/Kolkata"),
        ("+0530", "Asia/Kolkata"),
        ("UTC+5.5", "Asia/Kolkata"),  # decimal hours
        ("UTC+5.30", "Asia/Kolkata"),  # or hours.minutes; no zone is 18 minutes off
        ("+5.75", "Asia/Kathmandu"),
        ("+5.45", "Asia/Kathmandu"),
        ("+5:45", "Asia/Kathmandu"),
        ("+6:30", "Asia/Yangon"),
        ("+9:30", "Australia/Darwin"),  # no DST, unlike Adelaide
        ("+10:30", "Australia/Lord_Howe"),
        ("-3:30", "America/St_Johns"),
        ("-9:30", "Pacific/Marquesas"),
        ("+12:45", "Pacific/Chatham"),
        # offsets no zone keeps as standard time, only in summer
        ("-2:30", "America/St_Johns"),
        ("+13:45", "Pacific/Chatham"),
    ],
)
def test_zone_for_offset(text: str, zone: str) -> None:
    assert zone_for_offset(text) == zone


@pytest.mark.parametrize(
    "text",
    ["+15", "-13", "UTC+14:30", "-12:30", "+5:75", "+3:15", "5:30", "utc2", "+", "++2",
     "Berlin", "", "+12345", "UTC+2 please"],
)  # fmt: skip
def test_zone_for_offset_rejects_bad_offsets(text: str) -> None:
    assert zone_for_offset(text) is None


@pytest.mark.parametrize("text", ["UTC+2", "GMT-5", "+5:30", "+5:45", "-3:30", "+12:45", "+14"])
def test_offset_zone_keeps_the_typed_standard_offset(text: str) -> None:
    sign = -1 if "-" in text else 1
    hours, _, minutes = text.lstrip("UTCGM+-").partition(":")
    typed = sign * timedelta(hours=int(hours), minutes=int(minutes or 0))
    zone = ZoneInfo(zone_for_offset(text) or "")
    for moment in (datetime(2026, 1, 15, 12), datetime(2026, 7, 15, 12)):
        local = moment.replace(tzinfo=zone)
        assert local.utcoffset() - (local.dst() or timedelta(0)) == typed  # type: ignore[operator]


# --- any typed answer ---------------------------------------------------------------------------


def test_resolve_zone_text_reads_offsets_first() -> None:
    assert resolve_zone_text("UTC+2") == [ZoneMatch("Etc/GMT-2", "UTC+2", EXACT)]
    assert resolve_zone_text("+5:30") == [ZoneMatch("Asia/Kolkata", "UTC+5:30", EXACT)]
    assert resolve_zone_text("utc") == [ZoneMatch("UTC", "UTC", EXACT)]


def test_resolve_zone_text_does_not_search_places_for_a_bad_offset() -> None:
    assert resolve_zone_text("UTC+15") == []


def test_resolve_zone_text_falls_back_to_places() -> None:
    assert resolve_zone_text("Berlin") == zones_for_text("Berlin")
    assert resolve_zone_text("Berln")[0].certainty is FUZZY


# --- local time and zone names --------------------------------------------------------------------

# Berlin moves its clocks from 02:00 CET to 03:00 CEST at 01:00 UTC on 29 March 2026.
DST_START = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "label"),
    [
        ("Europe/Berlin", DST_START - timedelta(minutes=30), "01:30 on Sunday"),
        ("Europe/Berlin", DST_START + timedelta(minutes=30), "03:30 on Sunday"),
        ("Europe/Berlin", DST_START - timedelta(hours=2), "00:00 on Sunday"),
        ("Europe/Berlin", DST_START - timedelta(hours=2, minutes=1), "23:59 on Saturday"),
        ("America/New_York", datetime(2026, 3, 3, 19, 5, tzinfo=UTC), "14:05 on Tuesday"),
        ("Asia/Kathmandu", datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "13:45 on Monday"),
        ("Etc/GMT+5", datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "03:00 on Monday"),
        # any aware now will do, not only UTC
        (
            "Europe/Berlin",
            datetime(2026, 3, 29, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
            "03:00 on Sunday",
        ),
    ],
)
def test_local_time_label(zone: str, now: datetime, label: str) -> None:
    assert local_time_label(zone, now) == label


def test_local_time_label_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_time_label("Europe/Berlin", datetime(2026, 3, 29, 12, 0))


@pytest.mark.parametrize(
    ("name", "valid"),
    [("Europe/Berlin", True), ("Etc/GMT-2", True), ("UTC", True), ("europe/berlin", False),
     ("Mars/Olympus_Mons", False), ("", False), ("Factory", False), ("../../etc/passwd", False)],
)  # fmt: skip
def test_is_valid_zone(name: str, valid: bool) -> None:
    assert is_valid_zone(name) is valid


# --- the streaming city loader ----------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_streamed_json_values_survive_any_chunk_boundary(chunk: int) -> None:
    data = {
        str(n): {"name": f"Town {n}", "alternatenames": ["A, b", 'q"}'], "population": n}
        for n in range(40)
    }
    data["bare"] = 1234567  # type: ignore[assignment]
    text = json.dumps(data, indent=1 if chunk == 7 else None)
    values = list(_stream_json_object_values(io.StringIO(text), chunk=chunk))
    assert values == list(data.values())


def test_streamed_json_refuses_a_truncated_file() -> None:
    with pytest.raises(json.JSONDecodeError):
        list(_stream_json_object_values(io.StringIO('{"1": {"a": 1}, "2": {"a"'), chunk=4))
