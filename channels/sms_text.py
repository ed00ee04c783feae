"""SMS bodies from one outbox message, counted in segments the way carriers bill them.

Pure functions, no network: :func:`sms_bodies` renders a message (text, numbered options,
footer) and splits it into bodies of at most ``max_segments`` segments each, breaking where a
reader would (paragraphs, then lines, then sentences, then words). :func:`count_segments`
and :func:`total_segments` say what those bodies cost, so the dispatcher can pace by segment.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.profile import strip_pictures

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The GSM 03.38 default alphabet in code order, 0x00 to 0x7F. 0x1B is the escape to the
# extension table, not a character anyone types, so it is left out of the set.
_GSM7_TABLE = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1b\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./"
    "0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)

GSM7_BASIC: frozenset[str] = frozenset(_GSM7_TABLE) - {"\x1b"}
"""The 127 characters of the GSM 03.38 default alphabet: one septet each."""

GSM7_EXTENDED: frozenset[str] = frozenset("\f^{}\\[~]|\u20ac")
"""The GSM 03.38 extension table (form feed, ^ { } \\ [ ~ ] | €): escape + char, 2 septets."""

# (single-segment limit, per-segment limit once concatenated); the 7 or 3 units lost per
# segment carry the concatenation header.
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


def is_gsm7(text: str) -> bool:
    """Whether ``text`` fits the GSM-7 alphabet, which gives 160 characters a segment, not 70."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


@dataclass(frozen=True)
class SegmentCount:
    """What one SMS body costs: its encoding, its size in that encoding's units, its segments.

    ``units`` are septets for GSM-7 (an extension character counts 2) and UTF-16 code units
    for UCS-2 (a character outside the BMP, like most emoji, counts 2).
    """

    encoding: str
    units: int
    segments: int


def _unit_widths(text: str) -> tuple[str, list[int]]:
    if is_gsm7(text):
        return GSM7, [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentCount:
    """The segments a carrier bills for ``text``, as sent in one SMS.

    A long message is cut into segments without splitting an escape pair or a surrogate pair,
    so a segment is sometimes a unit short and the count one higher than plain division.
    """
    encoding, widths = _unit_widths(text)
    units = sum(widths)
    single, concatenated = _LIMITS[encoding]
    if units <= single:
        return SegmentCount(encoding=encoding, units=units, segments=1)
    segments, used = 1, 0
    for width in widths:
        if used + width > concatenated:
            segments += 1
            used = 0
        used += width
    return SegmentCount(encoding=encoding, units=units, segments=segments)


_PLAIN = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark, also the typographic apostrophe
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u00b4": "'",  # acute accent
        "`": "'",
        "\u2039": "'",  # single angle quotation marks
        "\u203a": "'",
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\u00ab": '"',  # guillemets
        "\u00bb": '"',
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2015": "-",  # horizontal bar
        "\u2212": "-",  # minus sign
        "\u2022": "-",  # bullet
        "\u2023": "-",  # triangular bullet
        "\u2043": "-",  # hyphen bullet
        "\u00b7": "-",  # middle dot, often a list bullet
        "\u2026": "...",  # horizontal ellipsis
        "\u00a0": " ",  # no-break space
        "\u2007": " ",  # figure space
        "\u2009": " ",  # thin space
        "\u200a": " ",  # hair space
        "\u202f": " ",  # narrow no-break space
        "\u2002": " ",  # en space
        "\u2003": " ",  # em space
        "\t": " ",
        "\u200b": "",  # zero-width space
        "\u00ad": "",  # soft hyphen
        "\ufeff": "",  # byte order mark / zero-width no-break space
        "\u00d7": "x",  # multiplication sign
        "\u00a9": "(c)",
        "\u00ae": "(R)",
        "\u2122": "TM",
    }
)


def plain_punctuation(text: str) -> str:
    """``text`` with typographic punctuation swapped for GSM-7 look-alikes.

    One curly apostrophe would make a whole message UCS-2 (70 characters a segment, not 160).
    """
    return text.translate(_PLAIN)


@dataclass(frozen=True)
class SmsStyle:
    """How to write SMS for one person: with emoji or not, and how long one body may get."""

    emoji: bool = True
    max_segments: int = 3

    def __post_init__(self) -> None:
        if self.max_segments < 1:
            raise ValueError(f"max_segments must be at least 1, not {self.max_segments}")


def render_sms(
    *, text: str, options: Sequence[Mapping[str, Any]], footer: str, style: SmsStyle
) -> str:
    """One message as a single SMS body: text, blank line, numbered options, blank line, footer.

    Without emoji the pictures go and the punctuation is made plain, so the body stays GSM-7.
    """

    def clean(part: str) -> str:
        if style.emoji:
            return part.strip()
        return strip_pictures(plain_punctuation(part)).strip()

    lines = []
    for option in options:
        label = clean(str(option.get("label") or ""))
        emoji = str(option.get("emoji") or "").strip() if style.emoji else ""
        lines.append(" ".join(word for word in (str(option["number"]), emoji, label) if word))
    blocks = (clean(text), "\n".join(lines), clean(footer))
    return "\n\n".join(block for block in blocks if block)


# Grapheme clusters, after Unicode's extended grapheme cluster rules (UAX #29) as far as
# SMS text needs them: combining marks, variation selectors, skin tones, keycaps, tag
# sequences, ZWJ sequences and flag pairs stay together; CR LF is one cluster.
_ZWJ = "\u200d"


def _is_extend(ch: str) -> bool:
    cp = ord(ch)
    return (
        cp in (0x200C, 0x200D)
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or 0xE0100 <= cp <= 0xE01EF
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
    )


def _is_control(ch: str) -> bool:
    return not _is_extend(ch) and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _grapheme_boundaries(text: str) -> list[int]:
    """Offsets where a grapheme cluster starts, plus ``len(text)``; always includes 0."""
    boundaries = [0]
    regional_run = 0
    for i in range(1, len(text)):
        prev, ch = text[i - 1], text[i]
        regional_run = regional_run + 1 if _is_regional(prev) else 0
        if prev == "\r" and ch == "\n":
            joined = True
        elif _is_control(prev) or _is_control(ch):
            joined = False
        elif _is_extend(ch) or prev == _ZWJ:
            joined = True
        else:
            joined = _is_regional(ch) and regional_run % 2 == 1
        if not joined:
            boundaries.append(i)
    if text:
        boundaries.append(len(text))
    return boundaries


# Where a body may break, best first: (pattern, whether the break comes at the match's start).
_BREAKS = (
    (re.compile(r"\r?\n[^\S\n]*\n"), True),  # a blank line between paragraphs
    (re.compile(r"\r?\n"), True),  # a line break
    (re.compile(r"[.!?]+[\"')\]\u2019\u201d]*(?=\s)"), False),  # after a sentence
    (re.compile(r"\s"), True),  # between words
)


def _fits(body: str, start: int, end: int, max_segments: int) -> bool:
    return count_segments(body[start:end].rstrip()).segments <= max_segments


def _longest_fit(body: str, start: int, cuts: Sequence[int], max_segments: int) -> int:
    """The furthest of ``cuts`` (ascending, after ``start``) whose part fits; -1 if none."""
    lo, hi = 0, len(cuts) - 1
    best = -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if _fits(body, start, cuts[mid], max_segments):
            best, lo = cuts[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _break_at(body: str, start: int, end: int, boundaries: frozenset[int]) -> int:
    """Where to end the part that starts at ``start`` and may run to ``end`` at most."""
    for pattern, at_start in _BREAKS:
        best = -1
        for match in pattern.finditer(body, start):
            if match.start() > end:
                break
            cut = match.start() if at_start else match.end()
            if start < cut <= end and cut in boundaries:
                best = cut
        if best != -1:
            return best
    return end  # one word longer than a whole message: cut it where the message is full


def split_sms(body: str, *, max_segments: int) -> list[str]:
    """``body`` as one or more SMS bodies of at most ``max_segments`` segments each.

    Parts are packed greedily, break at paragraphs, then lines, sentences and words, never
    inside a grapheme (an emoji sequence stays whole), and are stripped; blank ones are dropped.
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    stripped = body.strip()
    if not stripped:
        return []
    if count_segments(stripped).segments <= max_segments:
        return [stripped]
    boundaries = _grapheme_boundaries(stripped)
    boundary_set = frozenset(boundaries)
    parts: list[str] = []
    start = 0
    while start < len(stripped):
        rest = boundaries[bisect.bisect_right(boundaries, start) :]
        end = _longest_fit(stripped, start, rest, max_segments)
        if end == -1:
            # A single grapheme longer than a whole message (pathological stacks of combining
            # marks): cut between code points rather than send an over-long body.
            cuts = list(range(start + 1, len(stripped) + 1))
            end = max(_longest_fit(stripped, start, cuts, max_segments), start + 1)
            cut = end
        elif end == len(stripped):
            cut = end
        else:
            cut = _break_at(stripped, start, end, boundary_set)
        parts.append(stripped[start:cut].rstrip())
        start = cut
        while start < len(stripped):  # skip the whitespace between parts, whole graphemes only
            following = boundaries[bisect.bisect_right(boundaries, start)]
            if not stripped[start:following].isspace():
                break
            start = following
    return parts


def sms_bodies(
    *, text: str, options: Sequence[Mapping[str, Any]], footer: str, style: SmsStyle
) -> list[str]:
    """The SMS bodies to send for one outbox message: rendered, then split by the style's limit."""
    body = render_sms(text=text, options=options, footer=footer, style=style)
    return split_sms(body, max_segments=style.max_segments)


def total_segments(bodies: Iterable[str]) -> int:
    """Segments billed for all ``bodies``; the dispatcher paces SMS by these, not by bodies."""
    return sum(count_segments(body).segments for body in bodies)
