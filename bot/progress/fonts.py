"""The fonts the chart and the PDF use: DejaVu Sans, which ships inside matplotlib.

fpdf2's core fonts are Latin-1 only, and first names can be any script, so the PDF embeds
DejaVu Sans too. Characters DejaVu has no glyph for (emoji, most CJK) are dropped by
`printable`, so neither renderer draws empty boxes or logs missing-glyph warnings.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib.ft2font import FT2Font

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
DEJAVU_SANS = FONT_DIR / "DejaVuSans.ttf"
DEJAVU_SANS_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"


@cache
def _glyphs() -> frozenset[int]:
    """Code points both DejaVu Sans faces can draw."""
    regular = FT2Font(str(DEJAVU_SANS)).get_charmap()
    bold = FT2Font(str(DEJAVU_SANS_BOLD)).get_charmap()
    return frozenset(regular) & frozenset(bold)


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with only characters DejaVu Sans can draw, runs of spaces collapsed."""
    glyphs = _glyphs()
    # NFC first: "e" + combining accent becomes one "é", which has a glyph.
    kept = "".join(
        char
        for char in unicodedata.normalize("NFC", text)
        if char == "\n" or char.isspace() or ord(char) in glyphs
    )
    if keep_newlines:
        return "\n".join(" ".join(line.split()) for line in kept.split("\n")).strip()
    return " ".join(kept.split())
