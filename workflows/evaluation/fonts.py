"""The circular's Chinese fonts, shipped by a pinned Python package (Noto Serif SC and Noto Sans
SC, SIL OFL): the machine has no CJK font, and nothing is downloaded at run time.

For the PDF the fonts are cut down first to the characters the circular uses: WeasyPrint's
own subsetting (fontTools, when the HarfBuzz subsetter library is absent) keeps every glyph
slot of a 65,000-glyph CJK font and takes several seconds per font; a subset of a few hundred
glyphs takes it a fraction of that.
"""

from __future__ import annotations

import base64
import html
import io
import re
import string
from functools import cache
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools import subset
from fontTools.ttLib import TTFont

SERIF, SANS = "Noto Serif SC", "Noto Sans SC"  # the family names inside the font files
ALWAYS = set(string.printable) | set("—－，。、；：？！“”‘’（）《》〔〕【】…·％")  # CSS-generated text, numbers
TAG = re.compile(r"<[^>]*>")


def serif_file() -> Path:
    return pylopdf_fonts_zh_cn.serif_path()


def sans_file() -> Path:
    return pylopdf_fonts_zh_cn.sans_path()


@cache
def matplotlib_family() -> str:
    """Register the sans font with matplotlib (once per process) and return its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(sans_file()))
    return SANS


def characters(document: str) -> set[str]:
    """The characters a document can show: its text without the markup, and ALWAYS."""
    return set(html.unescape(TAG.sub("", document))) | ALWAYS


def subset_font(path: Path, chars: set[str]) -> bytes:
    """The font at `path` with only the glyphs of `chars` (and what they need to be set)."""
    # Hints kept and bounding boxes not recomputed: both cost seconds on a CJK font, and
    # WeasyPrint subsets the result again with its own options.
    options = subset.Options(hinting=True, desubroutinize=False, notdef_outline=True, name_IDs=["*"])
    font = TTFont(str(path), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def font_face_css(document: str) -> str:
    """@font-face rules with both fonts, cut to `document`'s characters, inline as data URIs."""
    chars = characters(document)
    rules = []
    for family, path in ((SERIF, serif_file()), (SANS, sans_file())):
        data = base64.b64encode(subset_font(path, chars)).decode("ascii")
        rules.append(f'@font-face {{ font-family: "{family}"; src: url("data:font/otf;base64,{data}") format("opentype"); }}')
    return "\n".join(rules)
