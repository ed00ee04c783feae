"""The engine's thin layer: load what the rules need, call them, save the result.

Each inbound message is handled in one database transaction: the person, their pending
question, whatever the message records, the replies in the outbox and the inbox row
marked handled all commit together, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.actions import surgeries
from bot.actions.commands import CompleteAction
from bot.actions.flows import SURGERY, FinishSurgeryLog, LogSurgeryFeedback, SurgeryFlow
from bot.actions.service import alert_safeguarding, complete_action
from bot.answers import clean_text
from bot.catalogue import DEFAULT_LANGUAGE, Catalogue, load_catalogue
from bot.clock import Clock
from bot.conversation import ASKED_ON, Effect, Flow, Pending
from bot.elections import turns as election_turns
from bot.elections.flows import STAND, VOTE, CastVote, Nominate
from bot.flows import standard_flows
from bot.flows.idea import IDEA, AddIdeaPhoto, IdeaFlow, KeepIdeaAnonymous, SaveIdea, SetIdeaTopic
from bot.flows.menu import MENU
from bot.keywords import is_keyword
from bot.messages import Inbound, Outgoing
from bot.onboarding import read_join_request
from bot.profile import adapt
from bot.rules import (
    START_STEP,
    OptIn,
    OptOut,
    PersonView,
    Rejoin,
    Script,
    ask,
    take_step,
)
from bot.surveys import turns as survey_turns
from bot.surveys.flow import SURVEY, FinishSurvey, RecordSurveyAnswer, StopSurvey
from storage import conversations, inbox, outbox, people
from storage.audit import record_audit
from storage.database import lock_name, transaction
from storage.inbox import Arrived
from storage.people import Profile, Sender, Surroundings
from storage.suggestions import record_suggestion
from storage.tables import (
    Address,
    CommunicationProfile,
    InboxMessage,
    Person,
    Priority,
    Suggestion,
)

log = logging.getLogger(__name__)

SIMULATOR = "simulator"
"""The dashboard's phone simulator: staff chatting as a person, never voting for them."""
ANONYMOUS_TEXT = "[an idea sent anonymously; its words are kept with the idea only]"


class ConversationEngine:
    """Takes in messages and handles them, one at a time per address, in order."""

    def __init__(
        self,
        *,
        database: Engine,
        clock: Clock,
        flows: Mapping[str, Flow] | None = None,
        concern_words: Iterable[str] = (),
    ) -> None:
        self.database = database
        self.clock = clock
        self.flows = flows if flows is not None else standard_flows()
        if flows is None and concern_words:
            self.flows = {**self.flows, IDEA: IdeaFlow(concern_words=concern_words)}

    def receive(self, inbound: Inbound) -> int | None:
        """Store a message in the inbox; None means this delivery was already stored."""
        return self.receive_many([inbound])[0]

    def receive_many(self, inbounds: Sequence[Inbound]) -> list[int | None]:
        """Store several messages in one transaction (what arrived together); for each, its
        inbox id, or None when that delivery was already stored."""
        rows = [
            inbox.arriving(
                channel=inbound.channel,
                provider_id=inbound.provider_id,
                address=inbound.address,
                text=inbound.text,
                media=list(inbound.media),
                received_at=inbound.received_at,
                provider_answered=inbound.provider_answered,
            )
            for inbound in inbounds
        ]
        with self.database.begin() as connection:
            return inbox.store_many(connection=connection, rows=rows)

    def handle_waiting(self, address: str, *,
                       before_each: Callable[[], None] | None = None) -> int:
        """Handle every stored message from ``address`` not yet handled, oldest first;
        ``before_each`` (if given) is called before each one: the runtime uses it to let
        other work in its process go first."""
        handled = 0
        more: bool | None = True
        while more:
            if before_each is not None:
                before_each()
            more = self._handle_next(address)
            if more is None:
                break
            handled += 1
        return handled

    def handle_all_waiting(self) -> int:
        """Handle what is waiting for every address: after a restart, nothing is left behind."""
        handled = 0
        while True:
            with transaction(self.database) as session:
                addresses = inbox.addresses_waiting(session=session)
            if not addresses:
                return handled
            for address in addresses:
                handled += self.handle_waiting(address)

    def _handle_next(self, address: str) -> bool | None:
        """Handle the oldest waiting message from ``address``: None if there was none, else
        whether another is waiting (asked in the same transaction, to spare a second one)."""
        message: Arrived | None = None
        try:
            with transaction(self.database) as session:
                lock_name(session, f"address:{address}")
                # The oldest two: one to handle, the other says whether to come back. One
                # that arrives meanwhile is handled by whoever took it in.
                waiting = inbox.oldest_unhandled(session=session, address=address, count=2)
                if not waiting:
                    return None
                message = waiting[0]
                now = self.clock.now()
                person_id, kept = self._handle(session, message, now)
                inbox.mark_handled(session=session, message_id=message.id, person_id=person_id,
                                   now=now, kept=kept)
                return len(waiting) > 1
        except Exception as error:
            if message is None:
                raise
            log.exception("could not handle inbox message %s; kept it as failed", message.id)
            self._park(message, f"{type(error).__name__}: {error}")
            return True

    def _park(self, message: Arrived, error: str) -> None:
        """Keep a message that could not be handled, with why, and tell its sender kindly."""
        now = self.clock.now()
        with transaction(self.database) as session:
            inbox.mark_failed(session=session, message_id=message.id, error=error, now=now)
            found = people.find_by_address(session=session, urn=message.address)
            language = found[0].language if found else DEFAULT_LANGUAGE
            sorry = Outgoing(load_catalogue(language).text("error.sorry"))
            self._queue(session, message, found[0].id if found else None, [sorry], None, now)

    def _handle(self, session: Session, message: Arrived, now: datetime
                ) -> tuple[int | None, str | None]:
        """Handle one message: who sent it (None for a stranger), and what to keep in place
        of its words when they are not to be kept (a ballot's), else None."""
        text = clean_text(message.text)
        sender = people.sender_at(session=session, urn=message.address)
        if sender is None:
            return self._onboard(session, message, text, now), None
        if not sender.address_active:
            address = session.get_one(Address, sender.address_id)
            if people.reactivate_address(session=session, address=address):
                record_audit(session=session, actor=f"person:{sender.id}",
                             action="address.reactivated", subject=message.address, at=now)
        around = people.surroundings_of(session=session, person_id=sender.id)
        profile = around.profile
        script = self._script(sender.language)
        view = PersonView(
            id=sender.id,
            opted_out=sender.opted_out_at is not None,
            easy_words=profile.easy_words,
            supporter=profile.supporter_name,
        )
        saved = around.conversation
        pending = (
            Pending(saved.flow, saved.step, dict(saved.context), saved.misses) if saved else None
        )
        surveys = survey_turns.prepare(session=session, person_id=sender.id,
                                       language=sender.language, pending=pending)
        elections = election_turns.prepare(session=session, person_id=sender.id,
                                           service_id=sender.service_id,
                                           language=sender.language, pending=pending,
                                           texts=script.texts)
        voting = pending is not None and pending.flow == VOTE
        if surveys.drop_pending or elections.drop_pending:
            pending = None
        script = replace(script, flows={
            **script.flows, SURVEY: surveys.flow, STAND: elections.stand, VOTE: elections.vote,
            SURGERY: self._surgery_flow(session, sender.id, now),
        })
        turn = take_step(person=view, pending=pending, text=text, script=script,
                         address=message.address)
        voting = voting or (turn.next is not None and turn.next.flow == VOTE)
        kept = None
        if voting:
            kept = election_turns.BALLOT_TEXT  # the voter's words are not kept
            turn = replace(turn, say=tuple(replace(m, sensitive=True) for m in turn.say))
        facts, said = self._perform(session, turn.effects, sender, around, message, script,
                                    surveys, now)
        next_question = turn.next
        if next_question is not None and facts:
            next_question = replace(next_question, context={**next_question.context, **facts})
        next_flow = script.flows.get(next_question.flow) if next_question is not None else None
        # A question is bound to the phone it is first asked on; a word from another phone
        # that is refused keeps it there.
        if (next_question is not None and next_flow is not None
                and next_flow.answered_where_asked and ASKED_ON not in next_question.context):
            next_question = replace(next_question, context={
                **next_question.context, ASKED_ON: message.address})
        if next_question is None:
            opted_in = any(isinstance(effect, OptIn) for effect in turn.effects)
            offered = survey_turns.offer_next(
                session=session, view=replace(view, opted_out=view.opted_out and not opted_in),
                language=sender.language, effects=turn.effects)
            said.extend(offered.say)
            next_question = offered.next
        self._save_pending(session, sender.id, next_question, now)
        notes = [Outgoing(script.texts.text("survey.closed", easy=view.easy_words))] if (
            surveys.pending_closed) else []
        if elections.note is not None:
            notes.append(Outgoing(elections.note))
        self._queue(session, message, sender.id, [*notes, *turn.say, *said], profile, now)
        return sender.id, kept

    def _onboard(
        self, session: Session, message: Arrived, text: str, now: datetime
    ) -> int | None:
        texts = load_catalogue(DEFAULT_LANGUAGE)
        if is_keyword(text, texts.words("stop")):
            self._queue(session, message, None, [Outgoing(texts.text("stranger.stopped"))], None,
                        now)
            return None
        join = read_join_request(text, texts)
        service = (
            people.service_by_join_code(session=session, code=join.code)
            if join and join.code else None
        )
        if service is None:
            if join is not None and join.explicit and join.code:
                reply = texts.text("stranger.unknown_code", code=join.code)
            else:
                reply = texts.text("stranger.hello")
            self._queue(session, message, None, [Outgoing(reply)], None, now)
            return None
        person = people.add_person(
            session=session, urns=[message.address], service_id=service.id, now=now
        )
        assert person.id is not None
        record_audit(session=session, actor=f"person:{person.id}", action="person.joined",
                     subject=f"service:{service.id}", at=now, detail={"channel": message.channel})
        view = PersonView(id=person.id, opted_out=False)
        script = self._script(person.language)
        turn = ask(Pending(MENU, START_STEP), view, script)
        welcome = Outgoing(texts.text("welcome.joined", service=service.name))
        self._save_pending(session, person.id, turn.next, now)
        profile = people.profile_of(session=session, person_id=person.id)
        self._queue(session, message, person.id, [welcome, *turn.say], profile, now)
        return person.id

    def _perform(
        self,
        session: Session,
        effects: Iterable[Effect],
        sender: Sender,
        around: Surroundings,
        message: Arrived,
        script: Script,
        surveys: survey_turns.SurveyTurn,
        now: datetime,
    ) -> tuple[dict[str, Any], list[Outgoing]]:
        """Record what a turn decided; return facts for the next question and extra replies.

        Most turns record a survey answer, or nothing; the person's own row is read only
        for the effects that change it or need all of it."""
        facts: dict[str, Any] = {}
        said: list[Outgoing] = []
        actor = f"person:{sender.id}"

        def person() -> Person:
            return session.get_one(Person, sender.id)

        for effect in effects:
            match effect:
                case OptOut():
                    opting_out = person()
                    opting_out.opted_out_at = now
                    session.add(opting_out)
                    outbox.cancel_queued(session=session, person_id=sender.id,
                                         min_priority=Priority.BULK,
                                         reason="the person opted out")
                    record_audit(session=session, actor=actor, action="person.opted_out", at=now,
                                 detail={"address": message.address})
                case OptIn():
                    opting_in = person()
                    opting_in.opted_out_at = None
                    session.add(opting_in)
                    record_audit(session=session, actor=actor, action="person.opted_in", at=now,
                                 detail={"address": message.address})
                case Rejoin(code=code):
                    said.append(self._rejoin(session, person(), code, script.texts, now))
                case SaveIdea(text=text, concern=concern):
                    suggestion = record_suggestion(
                        session=session, text=text, topic="", now=now, person_id=sender.id,
                        service_id=sender.service_id, inbox_id=message.id,
                    )
                    facts["suggestion_id"] = suggestion.id
                    if concern:
                        suggestion.concern = True
                        session.add(suggestion)
                        alert_safeguarding(session=session, suggestion=suggestion,
                                           person=person(), words=concern, now=now)
                case KeepIdeaAnonymous(suggestion_id=suggestion_id):
                    self._anonymise(session, suggestion_id)
                case AddIdeaPhoto(suggestion_id=suggestion_id):
                    if message.media:
                        suggestion = session.get_one(Suggestion, suggestion_id)
                        suggestion.picture = message.media[0][:500]
                        session.add(suggestion)
                case LogSurgeryFeedback(surgery_id=surgery_id, text=text):
                    surgeries.log_feedback(session=session, surgery_id=surgery_id, text=text,
                                           now=now, inbox_id=message.id)
                case FinishSurgeryLog(surgery_id=surgery_id):
                    surgeries.finish_log(session=session, surgery_id=surgery_id, now=now)
                case CompleteAction(action_id=action_id, note=note):
                    said.extend(self._complete(session, person(), action_id, note, script, now))
                case SetIdeaTopic(suggestion_id=suggestion_id, topic=topic):
                    suggestion = session.get_one(Suggestion, suggestion_id)
                    suggestion.topic = topic
                    session.add(suggestion)
                case RecordSurveyAnswer() | FinishSurvey() | StopSurvey():
                    survey_turns.record(session=session, turn=surveys, person_id=sender.id,
                                        service_id=sender.service_id,
                                        constituency_id=around.constituency_id, effect=effect,
                                        now=now)
                case CastVote() if message.channel == SIMULATOR:
                    # Staff try the bot as someone in the dashboard; nobody votes for them.
                    said.append(Outgoing(script.texts.text("vote.simulator")))
                case Nominate() | CastVote():
                    said.extend(election_turns.record(
                        session=session, person=person(), effect=effect, media=message.media,
                        texts=script.texts, now=now,
                        easy=around.profile.easy_words,
                    ))
                case _:
                    raise TypeError(f"no way to record {effect!r}")
        return facts, said

    @staticmethod
    def _anonymise(session: Session, suggestion_id: int) -> None:
        """Keep the person's name out: nothing stored leads from the idea back to them,
        not even the message it came in (its words are kept on the idea alone)."""
        suggestion = session.get_one(Suggestion, suggestion_id)
        suggestion.anonymous = True
        suggestion.person_id = None
        if suggestion.inbox_id is not None:
            arrived = session.get(InboxMessage, suggestion.inbox_id)
            if arrived is not None:
                arrived.text = ANONYMOUS_TEXT
                session.add(arrived)
            suggestion.inbox_id = None
        session.add(suggestion)

    @staticmethod
    def _surgery_flow(session: Session, mp_id: int, now: datetime) -> SurgeryFlow:
        def find() -> tuple[int | None, str]:
            surgery = surgeries.surgery_to_log(session=session, mp_id=mp_id, now=now)
            if surgery is None:
                return None, ""
            return surgery.id, surgeries.service_name(session, surgery.service_id)

        return SurgeryFlow(find=find)

    @staticmethod
    def _complete(session: Session, person: Person, action_id: int, note: str,
                  script: Script, now: datetime) -> list[Outgoing]:
        texts = script.texts
        outcome = complete_action(session=session, action_id=action_id, by=person, note=note,
                                  now=now)
        if outcome.done:
            said = [Outgoing(texts.text("action.done", number=action_id))]
            if outcome.told:
                said.append(Outgoing(texts.text("action.told", count=outcome.told)))
            return said
        if outcome.why == "not_owner":
            return [Outgoing(texts.text("action.not_owner", number=action_id))]
        if outcome.why == "already":
            return [Outgoing(texts.text("action.already", number=action_id))]
        return [Outgoing(texts.text("action.unknown", number=action_id))]

    def _rejoin(
        self, session: Session, person: Person, code: str, texts: Catalogue, now: datetime
    ) -> Outgoing:
        service = people.service_by_join_code(session=session, code=code) if code else None
        if service is None:
            return Outgoing(texts.text("stranger.unknown_code", code=code or "?"))
        if service.id == person.service_id:
            return Outgoing(texts.text("welcome.already", service=service.name))
        record_audit(session=session, actor=f"person:{person.id}", action="person.moved",
                     subject=f"service:{service.id}", at=now,
                     detail={"from": person.service_id})
        person.service_id = service.id
        session.add(person)
        return Outgoing(texts.text("welcome.moved", service=service.name))

    def _script(self, language: str) -> Script:
        return Script.of(language, self.flows)

    @staticmethod
    def _save_pending(
        session: Session, person_id: int, pending: Pending | None, now: datetime
    ) -> None:
        if pending is None:
            conversations.clear_conversation(session=session, person_id=person_id)
            return
        conversations.save_conversation(
            session=session, person_id=person_id, flow=pending.flow, step=pending.step,
            context=dict(pending.context), misses=pending.misses, now=now,
        )

    @staticmethod
    def _queue(
        session: Session,
        message: Arrived,
        person_id: int | None,
        replies: Iterable[Outgoing],
        profile: Profile | CommunicationProfile | None,
        now: datetime,
    ) -> None:
        if message.provider_answered:
            return  # the provider already answered this keyword; a second answer would nag
        for reply in replies:
            shaped = adapt(reply, profile) if profile is not None else reply
            outbox.queue_message(
                session=session,
                address=message.address,
                channel=message.channel,
                text=shaped.text,
                options=[option.as_json() for option in shaped.options],
                footer=shaped.footer,
                picture=shaped.picture,
                audio=bool(profile and profile.audio),
                person_id=person_id,
                priority=Priority.REPLY,
                in_reply_to=message.id,
                sensitive=shaped.sensitive,
                now=now,
            )
