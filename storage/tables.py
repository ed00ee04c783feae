"""The schema: every table Voicebank keeps, in the words of DESIGN.md.

Times are stored in UTC (see :class:`storage.types.UTCDateTime`). Statuses are short
strings rather than database enums, so adding one is a code change, not a migration.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    SERVICE_USER = "service_user"
    MP = "mp"
    STAFF = "staff"
    ADMIN = "admin"
    SAFEGUARDING = "safeguarding"
    """Told straight away when an idea suggests someone may be at risk."""


class InboxStatus(StrEnum):
    RECEIVED = "received"
    HANDLED = "handled"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Priority:
    """Lower goes first: a reply to someone who just wrote beats a bulk send."""

    REPLY = 0
    BULK = 10


class Constituency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)


class Service(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    constituency_id: int = Field(foreign_key="constituency.id", index=True)
    join_code: str = Field(max_length=16, unique=True)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=120)
    language: str = Field(default="en", max_length=8)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class PersonRole(SQLModel, table=True):
    __tablename__ = "person_role"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    role: str = Field(max_length=20, primary_key=True)


class CommunicationProfile(SQLModel, table=True):
    """How a person wants to be written to, as the Accessible Information Standard asks.

    The engine reads it whenever it writes to the person: language, easy words,
    pictures beside choices, the supporter named in help, the channel for messages
    the bot starts itself.
    """

    __tablename__ = "communication_profile"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    pictures: bool = True
    easy_words: bool = True
    audio: bool = False
    supporter_name: str | None = Field(default=None, max_length=120)
    supporter_contact: str | None = Field(default=None, max_length=200)
    preferred_channel: str | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Address(SQLModel, table=True):
    """One way to reach a person, written as a URN such as ``tel:+447700900123``."""

    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(max_length=200, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    active: bool = True
    inactive_reason: str | None = Field(default=None, max_length=200)
    inactive_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class Conversation(SQLModel, table=True):
    """The question a person has been asked and not yet answered, with what it needs."""

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    flow: str = Field(max_length=40)
    step: str = Field(max_length=40)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    misses: int = 0
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class InboxMessage(SQLModel, table=True):
    """Every message received, stored before it is handled, once per provider id."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbox_channel_provider_id"),
        Index("ix_inbox_address_status", "address", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    provider_id: str = Field(max_length=100)
    address: str = Field(max_length=200)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    media: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime)
    provider_answered: bool = False
    """The provider already replied (Twilio's own STOP/START/HELP answer): say nothing more."""
    status: str = Field(default=InboxStatus.RECEIVED, max_length=20)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class OutboxMessage(SQLModel, table=True):
    """Every message the bot will send, stored in the same transaction that decided it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "channel", "priority", "next_attempt_at"),
        Index("ix_outbox_address_status", "address", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    address: str = Field(max_length=200)
    channel: str = Field(max_length=20)
    text: str = Field(sa_column=Column(Text, nullable=False))
    options: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    footer: str = Field(default="", sa_column=Column(Text, nullable=False))
    picture: str | None = Field(default=None, max_length=500)
    audio: bool = False
    priority: int = Priority.REPLY
    status: str = Field(default=OutboxStatus.QUEUED, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, max_length=100)
    delivery_status: str | None = Field(default=None, max_length=20)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    in_reply_to: int | None = Field(default=None, foreign_key="inbox.id")
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    sensitive: bool = False
    """Part of voting (a choice repeated back, a receipt): its words are cleared once sent,
    so nothing stored joins a voter to a vote."""


class DeliveryReport(SQLModel, table=True):
    """What a provider said became of one message it was handed (one SMS part, say).

    A status callback may arrive before the send that caused it is recorded, so a report
    is kept by the provider's id and tied to its outbox row when either side learns of it.
    """

    __tablename__ = "delivery_report"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_delivery_report_channel_provider_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    provider_id: str = Field(max_length=100)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)
    status: str = Field(max_length=20)
    error_code: str | None = Field(default=None, max_length=20)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what, and when: opt-outs, joins, sign-ups, staff changes."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60)
    subject: str = Field(default="", max_length=120)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Suggestion(SQLModel, table=True):
    """An idea or a piece of feedback. Its id is the reference number the person is given."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    topic: str = Field(default="", max_length=40)
    inbox_id: int | None = Field(default=None, foreign_key="inbox.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    anonymous: bool = False
    """The person asked for their name to be kept out: no person is kept with it."""
    picture: str | None = Field(default=None, max_length=500)
    concern: bool = False
    """Its words suggest someone may be at risk; the safeguarding contacts were alerted."""
    source: str = Field(default="idea", max_length=20)
    surgery_id: int | None = Field(default=None, foreign_key="surgery.id", index=True)


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


class ParticipantStatus(StrEnum):
    INVITED = "invited"
    ANSWERING = "answering"
    FINISHED = "finished"
    STOPPED = "stopped"


class Survey(SQLModel, table=True):
    """A survey: questions asked one at a time to an audience, between two times.

    ``audience_kind`` is everyone, constituency, service or role; ``audience_value`` names
    which (a constituency's name, a service's join code, a role). ``reminders`` are seconds
    before closing at which those who have not finished are reminded.
    """

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    intro: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=SurveyStatus.DRAFT, max_length=20, index=True)
    opens_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    anonymous: bool = False
    dont_know: bool = True
    audience_kind: str = Field(default="everyone", max_length=20)
    audience_value: str = Field(default="", max_length=120)
    reminders: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    definition_key: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=32,
                                sa_column_kwargs={"server_default": ""})
    """New for every survey saved: its questions, written once and never changed, can be
    kept in memory under it (surveys saved before it existed have "" and are not)."""
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyQuestion(SQLModel, table=True):
    """One question of a survey; ``simpler`` is sent when the person replies "?"."""

    __tablename__ = "survey_question"
    __table_args__ = (
        UniqueConstraint("survey_id", "position", name="uq_survey_question_position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    position: int
    kind: str = Field(max_length=20)
    text: str = Field(sa_column=Column(Text, nullable=False))
    simpler: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    standard: str | None = Field(default=None, max_length=20)
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class SurveyOption(SQLModel, table=True):
    __tablename__ = "survey_option"
    __table_args__ = (UniqueConstraint("question_id", "number", name="uq_survey_option_number"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="survey_question.id", index=True)
    number: int
    label: str = Field(max_length=120)
    emoji: str = Field(default="", max_length=20)
    picture: str | None = Field(default=None, max_length=500)
    value: str = Field(max_length=60)
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class SurveyParticipant(SQLModel, table=True):
    """Who was asked, how far they got and whether they finished: never what they said."""

    __tablename__ = "survey_participant"

    survey_id: int = Field(foreign_key="survey.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    status: str = Field(default=ParticipantStatus.INVITED, max_length=20)
    position: int = 0
    invited_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyAnswer(SQLModel, table=True):
    """One answer. In an anonymous survey it has no person and no time, only where from."""

    __tablename__ = "survey_answer"

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    question_id: int = Field(foreign_key="survey_question.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    constituency_id: int | None = Field(default=None, foreign_key="constituency.id")
    option_number: int | None = None
    value: str = Field(default="", max_length=60)
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ElectionKind(StrEnum):
    ELECTION = "election"
    POLL = "poll"


class ElectionStatus(StrEnum):
    """An election moves forward through these, by the clock or by staff."""

    DRAFT = "draft"
    NOMINATIONS = "nominations"
    VOTING = "voting"
    CLOSED = "closed"
    COUNTED = "counted"
    ANNOUNCED = "announced"


class CandidateStatus(StrEnum):
    NOMINATED = "nominated"
    APPROVED = "approved"
    DECLINED = "declined"


class Election(SQLModel, table=True):
    """An election of MPs for a constituency, or a poll: one question put to an electorate.

    An election's electorate is the service users of its constituency's services; a poll's
    is ``electorate_kind``/``electorate_value`` (everyone, constituency, service, role).
    ``seed`` is the recorded random seed that settles ties, so anyone can repeat the draw.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=ElectionKind.ELECTION, max_length=20)
    title: str = Field(max_length=200)
    question: str = Field(default="", sa_column=Column(Text, nullable=False))
    constituency_id: int | None = Field(default=None, foreign_key="constituency.id", index=True)
    electorate_kind: str = Field(default="constituency", max_length=20)
    electorate_value: str = Field(default="", max_length=120)
    seats: int = 1
    term_months: int = 12
    status: str = Field(default=ElectionStatus.DRAFT, max_length=20, index=True)
    nominations_open_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voting_opens_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voting_closes_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    seed: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    counted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Candidate(SQLModel, table=True):
    """Someone standing in an election, or one of a poll's options (no person then)."""

    id: int | None = Field(default=None, primary_key=True)
    election_id: int = Field(foreign_key="election.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    number: int | None = None
    name: str = Field(max_length=120)
    emoji: str = Field(default="", max_length=20)
    picture: str | None = Field(default=None, max_length=500)
    change: str = Field(default="", sa_column=Column(Text, nullable=False))
    why: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=CandidateStatus.NOMINATED, max_length=20)
    nominated_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class RollEntry(SQLModel, table=True):
    """Who may vote, frozen when voting opens, and whether they have: never how, or when."""

    __tablename__ = "roll"

    election_id: int = Field(foreign_key="election.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    voted: bool = False


class Ballot(SQLModel, table=True):
    """A secret ballot: the election, the choice and a random receipt code. Nothing here
    leads back to the voter: no person, no address, no time."""

    __table_args__ = {"sqlite_with_rowid": False}

    receipt: str = Field(primary_key=True, max_length=16)
    election_id: int = Field(foreign_key="election.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id")


class ElectionResult(SQLModel, table=True):
    """The count: votes for each candidate, its place, and whether it won (or won by lot)."""

    __tablename__ = "election_result"

    election_id: int = Field(foreign_key="election.id", primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", primary_key=True)
    votes: int
    place: int
    elected: bool = False
    by_lot: bool = False


class MpTerm(SQLModel, table=True):
    """A service user MP's term for a constituency, from an election."""

    __tablename__ = "mp_term"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    constituency_id: int = Field(foreign_key="constituency.id", index=True)
    election_id: int | None = Field(default=None, foreign_key="election.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    ended_early_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class Action(SQLModel, table=True):
    """What's happening next because of what people said: who's responsible, when by, and
    who signed it off and when it happened."""

    id: int | None = Field(default=None, primary_key=True)
    what: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int = Field(foreign_key="person.id", index=True)
    due_on: date = Field(sa_type=Date)
    standard: str | None = Field(default=None, max_length=20, index=True)
    status: str = Field(default=ActionStatus.OPEN, max_length=20, index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=120)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: int | None = Field(default=None, foreign_key="person.id")
    done_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ActionSuggestion(SQLModel, table=True):
    """An idea that led to an action."""

    __tablename__ = "action_suggestion"

    action_id: int = Field(foreign_key="action.id", primary_key=True)
    suggestion_id: int = Field(foreign_key="suggestion.id", primary_key=True, index=True)


class SurgeryStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class Surgery(SQLModel, table=True):
    """An MP's visit to a service to hear people, with reminders before and a follow-up."""

    id: int | None = Field(default=None, primary_key=True)
    mp_id: int = Field(foreign_key="person.id", index=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=200)
    status: str = Field(default=SurgeryStatus.SCHEDULED, max_length=20)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)
    logged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffRole(StrEnum):
    """What a dashboard account may do: admin everything, staff their actions and results,
    MP their constituency's results and surgeries."""

    ADMIN = "admin"
    STAFF = "staff"
    MP = "mp"


class StaffUser(SQLModel, table=True):
    """A dashboard account. Its password is kept only as an Argon2 hash."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200, unique=True)
    name: str = Field(max_length=120)
    role: str = Field(max_length=20)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    password_hash: str = Field(max_length=300)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A token for the REST API, made with ``voicebank token create``; only its hash is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    label: str = Field(default="", max_length=120)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInAttempt(SQLModel, table=True):
    """Failed sign-ins, kept to slow down password guessing."""

    __tablename__ = "sign_in_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
