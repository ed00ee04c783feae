"""One step of a conversation, as a pure function of the person, their state and the message.

Global keywords come first (STOP, START, HELP, MENU), then the pending question, then a
keyword that starts a flow (also when it is no answer to the pending question), then the
menu. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.actions.commands import CompleteAction, read_done
from bot.answers import Vocabulary, load_vocabulary
from bot.catalogue import Catalogue, load_catalogue
from bot.conversation import ASKED_ON, Flow, Pending, Turn, interpret, render_question
from bot.flows.menu import MENU, ShowHelp
from bot.keywords import is_keyword, normalise_keyword
from bot.messages import Outgoing
from bot.onboarding import read_join_request

START_STEP = "start"
MISSES_BEFORE_HELP = 2


@dataclass(frozen=True)
class PersonView:
    """What the rules need to know about the person who wrote."""

    id: int
    opted_out: bool
    easy_words: bool = True
    supporter: str | None = None


@dataclass(frozen=True)
class OptOut:
    """The person asked for no more messages."""


@dataclass(frozen=True)
class OptIn:
    """The person asked for messages again."""


@dataclass(frozen=True)
class Rejoin:
    """A person the bot knows sent a join code: move them to that service."""

    code: str


@dataclass(frozen=True)
class Script:
    """The flows, texts and answer words of one language: what a step reads besides the message."""

    flows: Mapping[str, Flow]
    texts: Catalogue
    vocabulary: Vocabulary

    @classmethod
    def of(cls, language: str, flows: Mapping[str, Flow] | None = None, *extra: Flow) -> Script:
        """The script for ``language``: ``flows`` (the standard ones unless given), with
        ``extra`` flows built for one person's turn put in place of those of their name."""
        from bot.flows import standard_flows

        chosen = dict(flows if flows is not None else standard_flows())
        chosen.update({flow.name: flow for flow in extra})
        return cls(flows=chosen, texts=load_catalogue(language),
                   vocabulary=load_vocabulary(language))


def take_step(
    *, person: PersonView, pending: Pending | None, text: str, script: Script,
    address: str | None = None,
) -> Turn:
    """What the person's message leads to: replies, effects to record, and the next question.

    ``address`` is where the message came from, for flows answered only where they asked.
    """
    texts = script.texts
    easy = person.easy_words
    if person.opted_out:
        if is_keyword(text, texts.words("start") | texts.words("start_after_stop")):
            welcome = Outgoing(texts.text("start.done", easy=easy))
            return _ask(Turn(say=(welcome,), effects=(OptIn(),)), Pending(MENU, START_STEP),
                        person, script)
        if is_keyword(text, texts.words("help")):
            return Turn(say=(Outgoing(texts.text("help.while_stopped", easy=easy)),), next=pending)
        return Turn(next=pending)
    if is_keyword(text, texts.words("stop")):
        return Turn(say=(Outgoing(texts.text("stop.done", easy=easy)),), effects=(OptOut(),))
    if is_keyword(text, texts.words("help")):
        turn = Turn(say=help_messages(person, texts))
        return _ask(turn, replace(pending, misses=0), person, script) if pending else turn
    if is_keyword(text, texts.words("menu")) or is_keyword(text, texts.words("start")):
        return _ask(Turn(), Pending(MENU, START_STEP), person, script)
    join = read_join_request(text, texts)
    if join is not None and join.explicit:
        return Turn(effects=(Rejoin(code=join.code),), next=pending)
    done = read_done(text, texts)
    if done is not None:
        return Turn(effects=(CompleteAction(action_id=done.action_id, note=done.note),),
                    next=pending)
    if pending is not None:
        return _answer(person, pending, text, script, address)
    started = _start_by_keyword(person, text, script)
    if started is not None:
        return started
    hello = texts.text("menu.hello", easy=easy)
    return _ask(Turn(), Pending(MENU, START_STEP), person, script, before=hello)


def help_messages(person: PersonView, texts: Catalogue) -> tuple[Outgoing, ...]:
    """The help text, naming the person's supporter when their profile records one."""
    easy = person.easy_words
    if person.supporter:
        who = texts.text("help.supporter", easy=easy, supporter=person.supporter)
    else:
        who = texts.text("help.support_worker", easy=easy)
    return (Outgoing(texts.text("help.text", easy=easy) + "\n" + who),)


def ask(pending: Pending, person: PersonView, script: Script) -> Turn:
    """Ask the question ``pending`` stands for, from its flow's first step if need be."""
    return _ask(Turn(), pending, person, script)


def _answer(
    person: PersonView, pending: Pending, text: str, script: Script, address: str | None
) -> Turn:
    texts = script.texts
    flow = script.flows.get(pending.flow)
    if flow is None:
        return _ask(Turn(), Pending(MENU, START_STEP), person, script)
    asked_on = pending.context.get(ASKED_ON)
    if flow.answered_where_asked and address is not None and asked_on not in (None, address):
        started = _start_by_keyword(person, text, script)
        if started is not None:
            return started
        # The question was asked on another phone. Taking this as the answer could confirm a
        # choice made there; asking it here would let two phones take it from each other
        # for ever. It stays with the phone it was asked on; the keyword starts it again here.
        keyword = (flow.keyword or "menu").upper()
        return Turn(say=(Outgoing(texts.text("question.other_phone", easy=person.easy_words,
                                             keyword=keyword)),), next=pending)
    special = flow.special(pending, text, texts, easy=person.easy_words)
    if special is not None:
        if special.next is None:
            return special
        return _ask(replace(special, next=None), special.next, person, script)
    question = flow.question(pending.step, pending.context, texts)
    answer = interpret(question, text, script.vocabulary)
    if answer is None:
        started = _start_by_keyword(person, text, script)
        if started is not None:
            return started
        misses = pending.misses + 1
        retry = question.retry or texts.text("question.retry", easy=person.easy_words)
        say: tuple[Outgoing, ...] = ()
        if misses >= MISSES_BEFORE_HELP:
            say = (Outgoing(texts.text("question.offer_help", easy=person.easy_words)),)
        reask = render_question(question, texts, easy=person.easy_words, before=retry)
        return Turn(say=(*say, reask), next=replace(pending, misses=misses))
    turn = flow.answer(pending, answer, texts, easy=person.easy_words)
    if any(isinstance(effect, ShowHelp) for effect in turn.effects):
        effects = tuple(e for e in turn.effects if not isinstance(e, ShowHelp))
        turn = replace(turn, say=(*turn.say, *help_messages(person, texts)), effects=effects)
    if turn.next is None:
        return turn
    return _ask(replace(turn, next=None), turn.next, person, script)


def _start_by_keyword(person: PersonView, text: str, script: Script) -> Turn | None:
    """Start the flow whose keyword the whole message is (IDEA), if there is one."""
    folded = normalise_keyword(text)
    for flow in script.flows.values():
        if flow.keyword and flow.name != MENU and folded in script.texts.words(flow.keyword):
            return _ask(Turn(), Pending(flow.name, START_STEP), person, script)
    return None


def _ask(
    turn: Turn,
    pending: Pending,
    person: PersonView,
    script: Script,
    *,
    before: str = "",
) -> Turn:
    flow = script.flows[pending.flow]
    if pending.step == START_STEP:
        instead = flow.unavailable(script.texts, easy=person.easy_words)
        if instead is not None:
            return replace(turn, say=(*turn.say, Outgoing(instead)), next=None)
        pending = replace(pending, step=flow.first_step, misses=0)
    question = flow.question(pending.step, pending.context, script.texts)
    message = render_question(question, script.texts, easy=person.easy_words, before=before)
    return replace(turn, say=(*turn.say, *question.cards, message), next=pending)
