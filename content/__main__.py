"""`python -m content`: check the exercise library and print its ladders.

    python -m content                 # check the packaged library, print the ladders
    python -m content --json          # the same ladders as JSON
    python -m content --file my.toml  # check a draft file instead

Exits 1 and lists every problem when the library does not pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from content.exercise import Exercise
from content.library import Library, LibraryError, load_library
from content.vocabulary import LOAD_WORDS, Legs

_LEGS = {Legs.TWO: "two legs", Legs.ONE: "one leg "}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m content", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the ladders as JSON")
    parser.add_argument(
        "--file", type=Path, help="check this TOML file instead of the packaged one"
    )
    args = parser.parse_args(argv)
    try:
        library = load_library(args.file)
    except (LibraryError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(ladders_as_json(library), indent=2))
    else:
        print(ladders_as_text(library))
    return 0


def ladders_as_text(library: Library) -> str:
    lines = [f"Library OK: {len(library)} exercises on {len(library.ladders)} ladders."]
    for track, ladder in library.ladders.items():
        lines.append("")
        lines.append(f"{track.value} ({track.label}), {ladder.top} rungs")
        lines.extend(f"  {_rung_line(rung)}" for rung in ladder.rungs)
    return "\n".join(lines)


def _rung_line(rung: Exercise) -> str:
    emg = f"  {rung.emg:g}% MVIC" if rung.emg is not None else ""
    where = f"[{rung.setting.value}{', floor' if rung.floor else ''}]"
    return (
        f"{rung.level:>2}. {rung.id:<28} {LOAD_WORDS[rung.load]:<22} {_LEGS[rung.legs]}"
        f"  {where:<13}  {rung.dose.describe()}{emg}"
    )


def ladders_as_json(library: Library) -> dict[str, Any]:
    return {
        track.value: [
            {**rung.model_dump(mode="json"), "load": rung.load.value} for rung in ladder.rungs
        ]
        for track, ladder in library.ladders.items()
    }


if __name__ == "__main__":
    raise SystemExit(main())
