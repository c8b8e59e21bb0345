"""How much the time zone resolver costs: first lookup, later lookups, resident memory.

Run: .venv/bin/python bench/bench_timezones.py
Each run is a fresh process (so first-use costs are real); memory is RssAnon from
/proc/self/status after a garbage collection. The median of three runs is printed.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def rss_mb() -> float:
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def probe() -> dict[str, float]:
    """One fresh measurement, run in its own process."""
    before = rss_mb()
    import bot.timezones as tz

    after_import = rss_mb()
    first = timed_ms(lambda: tz.zones_for_text("Berlin"))
    after_index = rss_mb()
    exact = [timed_ms(lambda: tz.zones_for_text("Paris, France")) for _ in range(200)]
    typos = ["Amsterdm", "Berln", "asdfgh", "Sao Paolo", "Lodnon"] * 4
    fuzzy = [timed_ms(lambda text=text: tz.zones_for_text(text)) for text in typos]
    location = timed_ms(lambda: tz.zone_for_location(52.52, 13.40))
    return {
        "import_mb": after_import - before,
        "first_lookup_ms": first,
        "index_mb": after_index - after_import,
        "exact_median_ms": statistics.median(exact),
        "fuzzy_median_ms": statistics.median(fuzzy),
        "fuzzy_max_ms": max(fuzzy),
        "first_location_ms": location,
        "total_mb": rss_mb() - before,
    }


def main() -> None:
    if sys.argv[1:] == ["--probe"]:
        print(json.dumps(probe()))
        return
    command = [sys.executable, __file__, "--probe"]
    runs = [
        json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    ]
    print(f"time zone resolver, median of 3 fresh processes ({time.strftime('%Y-%m-%d')}):")
    for key in runs[0]:
        print(f"  {key:<20} {statistics.median(run[key] for run in runs):8.2f}")


if __name__ == "__main__":
    main()
