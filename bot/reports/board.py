"""The Board report: what happened in participation between two dates.

What people said (ideas by topic and by where they came from, and their words), the
messages in and out, the surveys open in the period with their results, the elections
and polls counted or announced, the actions done and those overdue at the end, and the
MPs' surgeries held. The dates are local and both are included.

Ideas whose words suggested someone may be at risk are counted, never quoted: those went
to the safeguarding contacts, not to the Board. An anonymous idea carries no name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from bot.catalogue import MissingText, load_catalogue
from bot.elections import outcome
from bot.elections import service as elections
from bot.elections.counting import Tally
from bot.flows.idea import TOPICS
from bot.reports.plan import ActionLine, load_actions, person_names, survey_results
from bot.surveys.results import SurveyResults
from storage.tables import (
    Action,
    ActionStatus,
    Election,
    InboxMessage,
    OutboxMessage,
    OutboxStatus,
    Service,
    Suggestion,
    Surgery,
    SurgeryStatus,
    Survey,
)

SOURCES = ("idea", "surgery")
NO_TOPIC = "No topic given"


@dataclass(frozen=True)
class TopicCount:
    topic: str
    label: str
    count: int


@dataclass(frozen=True)
class IdeaLine:
    """One idea as the Board sees it. ``person`` is None when it was sent anonymously;
    ``concern`` ideas are counted but never listed."""

    id: int
    created_at: datetime
    topic: str
    source: str
    service: str | None
    person: str | None
    text: str
    concern: bool = False
    surgery_id: int | None = None


@dataclass(frozen=True)
class IdeasSummary:
    """``total`` counts every idea, concerns too; ``ideas`` lists all but the concerns."""

    total: int
    concerns: int
    by_topic: tuple[TopicCount, ...]
    by_source: tuple[tuple[str, int], ...]
    ideas: tuple[IdeaLine, ...]


@dataclass(frozen=True)
class ChannelCount:
    channel: str
    received: int
    sent: int
    failed: int


@dataclass(frozen=True)
class MessageCounts:
    by_channel: tuple[ChannelCount, ...]

    @property
    def received(self) -> int:
        return sum(c.received for c in self.by_channel)

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.by_channel)

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.by_channel)


@dataclass(frozen=True)
class SurveyLine:
    survey_id: int
    opened_at: datetime | None
    closed_at: datetime | None
    results: SurveyResults


@dataclass(frozen=True)
class ElectionLine:
    """An election or poll counted or announced in the period, with its result."""

    election_id: int
    kind: str
    title: str
    seats: int
    status: str
    counted_at: datetime | None
    announced_at: datetime | None
    tallies: tuple[Tally, ...]
    names: Mapping[int, str]
    voted: int
    on_roll: int

    @property
    def winners(self) -> tuple[str, ...]:
        return tuple(self.names.get(t.candidate_id, "") for t in self.tallies if t.elected)

    @property
    def turnout(self) -> float:
        """Who voted as a share of the roll, from 0 to 1."""
        return self.voted / self.on_roll if self.on_roll else 0.0


@dataclass(frozen=True)
class SurgeryLine:
    id: int
    mp: str
    service: str
    starts_at: datetime
    place: str
    status: str
    ideas: int


@dataclass(frozen=True)
class BoardReport:
    start: date
    end: date
    zone: ZoneInfo
    made_at: datetime
    ideas: IdeasSummary
    messages: MessageCounts
    surveys: tuple[SurveyLine, ...]
    elections: tuple[ElectionLine, ...]
    actions_done: tuple[ActionLine, ...]
    actions_overdue: tuple[ActionLine, ...]
    surgeries: tuple[SurgeryLine, ...]


# The pure shaping --------------------------------------------------------------------------


def day_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC times from local midnight at the start of ``start`` to local midnight after
    ``end``: a moment is in the period when ``first <= moment < after``."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    first = datetime.combine(start, time.min, tzinfo=zone).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return first, after


def topic_label(topic: str) -> str:
    """The topic as people picked it: ``home`` is "Where I live"."""
    if not topic:
        return NO_TOPIC
    try:
        return load_catalogue("en").text(f"idea.topic_{topic}")
    except MissingText:
        return topic[:1].upper() + topic[1:]


def summarise_ideas(lines: Iterable[IdeaLine]) -> IdeasSummary:
    """Count ideas by topic (every usual topic, even with none, then any others) and by
    source, and list those that were not concerns, oldest first."""
    lines = sorted(lines, key=lambda line: (line.created_at, line.id))
    topics = Counter(line.topic for line in lines)
    usual = [topic for topic, _ in TOPICS]
    others = sorted(t for t in topics if t not in usual and t)
    order = usual + others + ([""] if "" in topics else [])
    sources = Counter(line.source for line in lines)
    return IdeasSummary(
        total=len(lines),
        concerns=sum(1 for line in lines if line.concern),
        by_topic=tuple(TopicCount(t, topic_label(t), topics[t]) for t in order),
        by_source=tuple(
            (source, sources[source])
            for source in [*SOURCES, *sorted(s for s in sources if s not in SOURCES)]
        ),
        ideas=tuple(line for line in lines if not line.concern),
    )


def channel_counts(
    received: Mapping[str, int], sent: Mapping[str, int], failed: Mapping[str, int]
) -> MessageCounts:
    channels = sorted(set(received) | set(sent) | set(failed))
    return MessageCounts(tuple(
        ChannelCount(c, received.get(c, 0), sent.get(c, 0), failed.get(c, 0)) for c in channels
    ))


# The queries -------------------------------------------------------------------------------


def board_report(
    *, session: Session, start: date, end: date, zone: ZoneInfo, now: datetime | None = None
) -> BoardReport:
    """Everything the Board hears about the period from ``start`` to ``end`` (local dates,
    both included). ``now`` (default: the real time) is when the report was made."""
    first, after = day_bounds(start, end, zone)
    done = load_actions(session=session, zone=zone, where=[
        col(Action.status) == ActionStatus.DONE,
        col(Action.done_at) >= first, col(Action.done_at) < after,
    ])
    overdue = load_actions(session=session, zone=zone, where=[
        col(Action.due_on) < end,
        or_(col(Action.status) == ActionStatus.OPEN, col(Action.done_at) >= after),
    ])
    return BoardReport(
        start=start,
        end=end,
        zone=zone,
        made_at=now or datetime.now(UTC),
        ideas=summarise_ideas(_ideas(session, first, after)),
        messages=_messages(session, first, after),
        surveys=_surveys(session, first, after),
        elections=_elections(session, first, after),
        actions_done=tuple(sorted(done, key=lambda a: (a.done_on or a.due_on, a.id))),
        actions_overdue=tuple(overdue),
        surgeries=_surgeries(session, first, after),
    )


def _ideas(session: Session, first: datetime, after: datetime) -> list[IdeaLine]:
    rows = session.exec(select(Suggestion).where(
        col(Suggestion.created_at) >= first, col(Suggestion.created_at) < after,
    ).order_by(col(Suggestion.created_at), col(Suggestion.id))).all()
    names = person_names(session=session, ids={
        row.person_id for row in rows if row.person_id is not None and not row.anonymous
    })
    services = _service_names(session)
    return [
        IdeaLine(
            id=row.id or 0,
            created_at=row.created_at,
            topic=row.topic,
            source=row.source,
            service=services.get(row.service_id) if row.service_id is not None else None,
            person=(None if row.anonymous or row.person_id is None
                    else names.get(row.person_id)),
            text="" if row.concern else row.text,
            concern=row.concern,
            surgery_id=row.surgery_id,
        )
        for row in rows
    ]


def _service_names(session: Session) -> dict[int, str]:
    return {id_: name for id_, name in session.exec(select(Service.id, Service.name))
            if id_ is not None}


def _within(column: datetime | None, first: datetime, after: datetime) -> ColumnElement[bool]:
    return and_(col(column) >= first, col(column) < after)


def _by_channel(session: Session, channel: str, *where: ColumnElement[bool]) -> dict[str, int]:
    statement = select(col(channel), func.count()).where(*where).group_by(col(channel))
    return {name: int(count) for name, count in session.exec(statement)}


def _messages(session: Session, first: datetime, after: datetime) -> MessageCounts:
    received = _by_channel(session, InboxMessage.channel,
                           _within(InboxMessage.received_at, first, after))
    sent = _by_channel(session, OutboxMessage.channel,
                       _within(OutboxMessage.sent_at, first, after))
    failed = _by_channel(session, OutboxMessage.channel,
                         col(OutboxMessage.status) == OutboxStatus.FAILED,
                         _within(OutboxMessage.created_at, first, after))
    return channel_counts(received, sent, failed)


def _surveys(session: Session, first: datetime, after: datetime) -> tuple[SurveyLine, ...]:
    """Surveys open at any moment of the period: opened before it ended, not closed
    before it began."""
    rows = session.exec(select(Survey).where(
        col(Survey.opened_at).is_not(None), col(Survey.opened_at) < after,
        or_(col(Survey.closed_at).is_(None), col(Survey.closed_at) >= first),
    ).order_by(col(Survey.opened_at), col(Survey.id))).all()
    lines = []
    for row in rows:
        assert row.id is not None
        results = survey_results(session=session, survey_id=row.id)
        if results is not None:
            lines.append(SurveyLine(row.id, row.opened_at, row.closed_at, results))
    return tuple(lines)


def _elections(session: Session, first: datetime, after: datetime) -> tuple[ElectionLine, ...]:
    rows = session.exec(select(Election).where(or_(
        _within(Election.counted_at, first, after), _within(Election.announced_at, first, after),
    )).order_by(col(Election.id))).all()
    lines = []
    for row in rows:
        assert row.id is not None
        voted, on_roll = elections.turnout(session=session, election_id=row.id)
        lines.append(ElectionLine(
            election_id=row.id, kind=row.kind, title=row.title, seats=row.seats,
            status=row.status, counted_at=row.counted_at, announced_at=row.announced_at,
            tallies=tuple(outcome.stored_result(session=session, election_id=row.id)),
            names={c.id or 0: c.name
                   for c in elections.candidates(session=session, election_id=row.id)},
            voted=voted, on_roll=on_roll,
        ))
    return tuple(lines)


def _surgeries(session: Session, first: datetime, after: datetime) -> tuple[SurgeryLine, ...]:
    """Surgeries that started in the period and were held (or logged afterwards)."""
    rows = session.exec(select(Surgery).where(
        col(Surgery.starts_at) >= first, col(Surgery.starts_at) < after,
        or_(col(Surgery.status) == SurgeryStatus.HELD, col(Surgery.logged_at).is_not(None)),
    ).order_by(col(Surgery.starts_at), col(Surgery.id))).all()
    ids = [row.id for row in rows if row.id is not None]
    ideas = _ideas_per_surgery(session, ids)
    mps = person_names(session=session, ids={row.mp_id for row in rows})
    services = _service_names(session)
    return tuple(
        SurgeryLine(
            id=row.id or 0, mp=mps.get(row.mp_id, ""),
            service=services.get(row.service_id, f"Service {row.service_id}"),
            starts_at=row.starts_at, place=row.place, status=row.status,
            ideas=ideas.get(row.id or 0, 0),
        )
        for row in rows
    )


def _ideas_per_surgery(session: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    statement = (
        select(Suggestion.surgery_id, func.count())
        .where(col(Suggestion.surgery_id).in_(ids))
        .group_by(col(Suggestion.surgery_id))
    )
    return {surgery: int(count) for surgery, count in session.exec(statement) if surgery}
