"""An election's or poll's result for people: a table, a bar chart, and the receipt list.

The chart is drawn as the survey charts are (see ``voicebank.survey_report``): matplotlib's
object API on the Agg canvas, no pyplot, no version stamp in the PNG, and emoji left out.
Winners are drawn in a second colour and also marked in words, so nobody needs the colour
to see who won.
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence

from bot.elections.counting import Tally
from bot.profile import strip_pictures
from voicebank.survey_report import Chart

BAR_CELLS = 20  # a full bar, 100% of the votes cast, is this many blocks
ELECTED_COLOUR = "#E69F00"  # Okabe and Ito's orange and blue: told apart by colour-blind eyes
NOT_ELECTED_COLOUR = "#0072B2"
ELECTED = "elected"
ELECTED_BY_LOT = "elected by drawing lots"

__all__ = ["Chart", "receipts_list", "results_chart", "results_table"]


# The table ---------------------------------------------------------------------------------


def results_table(
    *,
    title: str,
    tallies: Sequence[Tally],
    names: Mapping[int, str],
    seats: int,
    seed: str,
    turnout: tuple[int, int],
) -> str:
    """The result as plain text: each candidate in place order with votes, share and a bar.

    ``turnout`` is (people who voted, people on the roll). The seed is shown only when a
    draw decided who was elected, with an invitation to repeat it.
    """
    ordered = sorted(tallies, key=lambda t: t.place)
    cast = sum(t.votes for t in ordered)
    labels = [_name(t, names, plain=False) for t in ordered]
    name_width = max([_width(label) for label in labels] + [4])
    votes_width = max([len(str(t.votes)) for t in ordered] + [5])
    lines = [title, "=" * len(title), f"Seats: {seats}", ""]
    for tally, label in zip(ordered, labels, strict=True):
        bar = "█" * round(_percent(tally.votes, cast) * BAR_CELLS / 100)
        line = (
            f"{tally.place:>2}. {label}{' ' * (name_width - _width(label))}"
            f"  {tally.votes:>{votes_width}}"
            f" {_percent(tally.votes, cast):>6.1f}%  {bar:<{BAR_CELLS}}  {_mark(tally)}"
        )
        lines.append(line.rstrip())
    if not ordered:
        lines.append("Nobody stood.")
    lines.extend(["", f"Votes cast: {cast}", _turnout_line(*turnout)])
    if any(t.by_lot for t in ordered):
        lines.append(
            f"Ties were settled by drawing lots with seed {seed}; anyone can repeat the draw."
        )
    return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    """Roughly how many terminal cells ``text`` takes: an emoji two, however it is built."""
    cells = last = 0
    joined = False
    for ch in text:
        if ch == "\N{ZERO WIDTH JOINER}":
            joined = True
        elif joined or "\U0001f3fb" <= ch <= "\U0001f3ff":  # joined on, or a skin tone
            joined = False
        elif ch == "\N{VARIATION SELECTOR-16}":  # shows the character before as an emoji
            cells += 2 - last
            last = 2
        elif not (unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf")):
            last = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
            cells += last
    return cells


def _mark(tally: Tally) -> str:
    if not tally.elected:
        return ""
    return ELECTED_BY_LOT if tally.by_lot else ELECTED


def _turnout_line(voted: int, electorate: int) -> str:
    if not electorate:
        return f"Turnout: {voted} of {electorate}"
    return f"Turnout: {voted} of {electorate} ({voted / electorate * 100:.1f}%)"


def _percent(votes: int, cast: int) -> float:
    return votes / cast * 100 if cast else 0.0


def _name(tally: Tally, names: Mapping[int, str], *, plain: bool) -> str:
    name = names.get(tally.candidate_id, "")
    if plain:
        name = strip_pictures(name).strip()
    return name or f"Candidate {tally.candidate_id}"


# The chart ---------------------------------------------------------------------------------


def results_chart(*, title: str, tallies: Sequence[Tally], names: Mapping[int, str]) -> Chart:
    """A horizontal bar chart of the votes, winners in their own colour, with its words."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    ordered = sorted(tallies, key=lambda t: t.place)
    cast = sum(t.votes for t in ordered)
    labels = [textwrap.fill(_name(t, names, plain=True), 24) for t in ordered]
    counts = [t.votes for t in ordered]
    colours = [ELECTED_COLOUR if t.elected else NOT_ELECTED_COLOUR for t in ordered]
    figure = Figure(figsize=(10, 2.6 + 0.8 * max(len(ordered), 1)), dpi=100,
                    layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(ordered)))
    axes.barh(positions, counts, color=colours, height=0.6)
    axes.set_yticks(positions, labels, fontsize=15)
    axes.invert_yaxis()  # the winner at the top
    axes.set_xlim(0, max([*counts, 1]) * 1.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=13)
    for position, tally in zip(positions, ordered, strict=True):
        words = f"  {tally.votes} ({_short_percent(_percent(tally.votes, cast))})"
        if tally.elected:
            words += f" {_mark(tally)}"
        axes.text(tally.votes, position, words, va="center", fontsize=14)
    axes.set_xlabel(f"Votes ({cast} cast)", fontsize=14)
    axes.set_title(textwrap.fill(strip_pictures(title), 55), fontsize=18, loc="left",
                   fontweight="bold")
    figure.legend(
        handles=[Patch(color=ELECTED_COLOUR, label="Elected"),
                 Patch(color=NOT_ELECTED_COLOUR, label="Not elected")],
        loc="outside lower center", ncols=2, fontsize=13, frameon=False,
    )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    figure.clear()
    return Chart(png=out.getvalue(), alt_text=chart_alt_text(title=title, tallies=ordered,
                                                              names=names))


def chart_alt_text(*, title: str, tallies: Sequence[Tally], names: Mapping[int, str]) -> str:
    """The chart in words: "Bar chart: <title> Ann 12 votes (40%), elected; ...".

    Every candidate is listed in place order with their votes and whether they won.
    """
    heading = strip_pictures(title).strip()
    if heading and heading[-1] not in ".?!:":
        heading += "."
    ordered = sorted(tallies, key=lambda t: t.place)
    if not ordered:
        return f"Bar chart: {heading} Nobody stood."
    cast = sum(t.votes for t in ordered)
    parts = "; ".join(
        f"{_name(t, names, plain=True)} {_votes(t.votes)} "
        f"({_short_percent(_percent(t.votes, cast))}), {_mark(t) or 'not elected'}"
        for t in ordered
    )
    ending = f"{_votes(cast)} cast." if cast else "No votes were cast."
    return f"Bar chart: {heading} {parts}. {ending}"


def _votes(count: int) -> str:
    return "1 vote" if count == 1 else f"{count} votes"


def _short_percent(percent: float) -> str:
    return f"{percent:.0f}%" if percent == int(percent) else f"{percent:.1f}%"


# The receipts ------------------------------------------------------------------------------


def receipts_list(receipts: Sequence[str]) -> str:
    """Every counted ballot's receipt code, sorted, one a line, so voters can check theirs.

    Only the codes are listed, never whom a ballot was for: a receipt proves a vote was
    counted without showing anyone how it was cast.
    """
    count = len(receipts)
    if not count:
        return "No ballots were counted.\n"
    counted = "1 ballot was counted" if count == 1 else f"{count} ballots were counted"
    lines = [
        f"{counted}. Here is the receipt code of every one.",
        "To check your vote was counted, find the code from your receipt message in this list.",
        "",
        *sorted(receipts),
    ]
    return "\n".join(lines) + "\n"
