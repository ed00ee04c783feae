"""``voicebank action …`` and ``voicebank surgery …``: turn the ideas people sent into
actions with an owner and a date, sign them off (telling people "you said, we did"), and
book MPs' surgeries at services.

Each command is one transaction over :mod:`bot.actions`; a step the rules refuse is
printed in plain words with exit code 1, and a badly written option exits with 2.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session, col, select

from bot.actions.schedule import MP_BEFORE, SERVICE_BEFORE
from bot.actions.service import ActionError, complete_action, create_action
from bot.actions.surgeries import (
    cancel_surgery,
    schedule_surgery,
    service_name,
    surgery_audience,
)
from bot.clock import spoken_time
from bot.outreach import already_queued
from bot.surveys.loading import parse_local_time
from storage import people
from storage.database import transaction
from storage.tables import (
    Action,
    ActionStatus,
    ActionSuggestion,
    OutboxMessage,
    Person,
    Role,
    Suggestion,
    Surgery,
    SurgeryStatus,
)
from voicebank.cli_support import command_settings, local, opened

action_app = typer.Typer(help="Ideas people sent, and the actions they led to.",
                         no_args_is_help=True)
surgery_app = typer.Typer(help="MPs' surgeries: visits to a service to hear people.",
                          no_args_is_help=True)

ACTOR = "staff:cli"
STANDARD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){0,3}")
SURGERY_LENGTH = timedelta(hours=2)

ActionId = Annotated[int, typer.Argument(metavar="ID", help="The action's number.")]
SurgeryId = Annotated[int, typer.Argument(metavar="ID", help="The surgery's number.")]


# Shared pieces -----------------------------------------------------------------------------


def sentence(text: str) -> str:
    text = text.strip()[:1].upper() + text.strip()[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def refused(message: str) -> NoReturn:
    """The rules said no, or the thing asked for is not there: say why, exit 1."""
    typer.echo(sentence(message), err=True)
    raise typer.Exit(1)


def badly_written(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1].rstrip() + "…"


def long_date(day: date) -> str:
    """``Friday 12 December 2026``."""
    return f"{day:%A} {day.day} {day:%B %Y}"




def name_of(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id is not None else None
    return (person.name or f"person {person_id}") if person else "nobody"


def today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def actions_by_idea(session: Session) -> dict[int, list[int]]:
    """Each idea's id → the ids of the actions it led to."""
    led_to: dict[int, list[int]] = defaultdict(list)
    for link in session.exec(select(ActionSuggestion).order_by(col(ActionSuggestion.action_id))):
        led_to[link.suggestion_id].append(link.action_id)
    return led_to


def ideas_of(session: Session, action_id: int) -> list[Suggestion]:
    return list(session.exec(
        select(Suggestion).join(ActionSuggestion,
                                col(ActionSuggestion.suggestion_id) == col(Suggestion.id))
        .where(ActionSuggestion.action_id == action_id).order_by(col(Suggestion.id))))


def who_said(session: Session, idea: Suggestion) -> str:
    """The person's name; never a name for an anonymous idea."""
    if idea.anonymous:
        return "anonymous"
    if idea.person_id is not None:
        return name_of(session, idea.person_id)
    surgery = session.get(Surgery, idea.surgery_id) if idea.surgery_id else None
    return f"heard by {name_of(session, surgery.mp_id)}" if surgery else "-"


def idea_line(session: Session, idea: Suggestion, actions: list[int], zone: ZoneInfo,
              width: int = 50) -> str:
    service = service_name(session, idea.service_id) if idea.service_id else "-"
    concern = "⚠️ " if idea.concern else ""
    led = (f"  → action{'s' if len(actions) > 1 else ''} {', '.join(map(str, actions))}"
           if actions else "")
    return (f"{idea.id:>4}  {idea.created_at.astimezone(zone):%Y-%m-%d}  "
            f"{shorten(service, 18):<18} {shorten(idea.topic or '-', 10):<10} "
            f"{idea.source:<7} {shorten(who_said(session, idea), 18):<18} "
            f"{concern}{shorten(idea.text, width)}{led}")


# Actions -----------------------------------------------------------------------------------


@action_app.command("ideas")
def action_ideas(
    new: Annotated[bool, typer.Option("--new", help="Only ideas with no action yet.")] = False,
) -> None:
    """List ideas and surgery feedback, ⚠️ marking a safeguarding concern."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        led_to = actions_by_idea(session)
        lines = [idea_line(session, idea, led_to.get(idea.id or 0, []), settings.zone)
                 for idea in session.exec(select(Suggestion).order_by(col(Suggestion.id)))
                 if not (new and led_to.get(idea.id or 0))]
    if not lines:
        typer.echo("Every idea has led to an action." if new else "Nobody has sent an idea yet.")
    for line in lines:
        typer.echo(line)


@action_app.command("add")
def action_add(
    what: Annotated[str, typer.Option(help="What is happening next, in plain words.")],
    owner: Annotated[int, typer.Option(help="The member of staff responsible (person ID).")],
    due: Annotated[str, typer.Option(help="When it must be done by, like 2026-12-12.")],
    idea: Annotated[list[int] | None, typer.Option(
        help="The number of an idea it comes from; repeat for more.")] = None,
    standard: Annotated[str | None, typer.Option(
        help="The participation standard it is about, like 3.2.")] = None,
) -> None:
    """Make an action from ideas (or a standard); its owner is told straight away."""
    settings = command_settings()
    try:
        due_on = date.fromisoformat(due.strip())
    except ValueError:
        badly_written(f"--due: {due!r} is not a date; write it like 2026-12-12.")
    if standard is not None and not STANDARD.fullmatch(standard.strip()):
        badly_written(f"--standard: {standard!r} is not a participation standard's number; "
                      "write it like 3.2.")
    ideas = list(dict.fromkeys(idea or ()))
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        now = voicebank.clock.now()
        if due_on < today(now, settings.zone):
            badly_written(f"--due: {long_date(due_on)} has passed; give today or a later date.")
        try:
            action = create_action(session=session, what=what, owner_id=owner, due_on=due_on,
                                   now=now, actor=ACTOR, suggestion_ids=ideas,
                                   standard=standard.strip() if standard else None)
        except ActionError as error:
            refused(str(error))
        owner_name = name_of(session, owner)
        told = already_queued(session=session, dedupe_key=f"action:{action.id}:owner")
    parts = [f"Action {action.id}: {sentence(action.what)}", f"Owner: {owner_name}.",
             f"Due: {long_date(due_on)}."]
    if ideas:
        parts.append(f"From idea{'s' if len(ideas) > 1 else ''} {', '.join(map(str, ideas))}.")
    if action.standard:
        parts.append(f"Standard {action.standard}.")
    typer.echo(" ".join(parts))
    typer.echo(f"{owner_name} has been sent a message about it." if told else
               f"{owner_name} could not be sent a message (no address, or they said STOP); "
               "tell them yourself.")


@action_app.command("list")
def action_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only those not done.")] = False,
    overdue_only: Annotated[bool, typer.Option("--overdue", help="Only open ones whose date "
                                                                 "has passed.")] = False,
) -> None:
    """List actions by due date; ⏰ marks an open one whose date has passed."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        day = today(voicebank.clock.now(), settings.zone)
        query = select(Action).order_by(col(Action.due_on), col(Action.id))
        if open_only or overdue_only:
            query = query.where(Action.status == ActionStatus.OPEN)
        if overdue_only:
            query = query.where(col(Action.due_on) < day)
        rows = [(action, name_of(session, action.owner_id)) for action in session.exec(query)]
    if not rows:
        typer.echo("No actions are overdue." if overdue_only else "No actions are open."
                   if open_only else "There are no actions yet. Make one from an idea: "
                   "voicebank action add --what TEXT --owner ID --due DATE --idea ID")
    for action, owner in rows:
        late = action.status == ActionStatus.OPEN and action.due_on < day
        status = "⏰ overdue" if late else action.status
        typer.echo(f"{action.id:>4}  {status:<9}  due {action.due_on:%Y-%m-%d}  "
                   f"{shorten(owner, 18):<18} {action.standard or '-':<7} "
                   f"{shorten(action.what, 60)}")


@action_app.command("show")
def action_show(action_id: ActionId) -> None:
    """Show an action: who, when by, the ideas it came from and, once done, the sign-off."""
    settings = command_settings()
    zone = settings.zone
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        action = session.get(Action, action_id)
        if action is None:
            refused(f"There is no action {action_id}.")
        late = (action.status == ActionStatus.OPEN
                and action.due_on < today(voicebank.clock.now(), zone))
        lines = [f"Action {action.id}: {action.what}",
                 f"Status: {'overdue ⏰' if late else action.status}.",
                 f"Owner: {name_of(session, action.owner_id)}.",
                 f"Due: {long_date(action.due_on)}.",
                 f"Standard: {action.standard or 'none'}.",
                 f"Made {local(action.created_at, zone)} by {action.created_by or 'unknown'}."]
        if action.status == ActionStatus.DONE:
            lines.append(f"Signed off by {name_of(session, action.done_by)} on "
                         f"{local(action.done_at, zone)}.")
            lines.append(f"Note: {action.done_note or '(none)'}")
        ideas, led_to = ideas_of(session, action_id), actions_by_idea(session)
        lines += ["", "From ideas:" if ideas else "From no ideas."]
        lines += [idea_line(session, idea, led_to[idea.id or 0], zone, width=200)
                  for idea in ideas]
    for line in lines:
        typer.echo(line)


@action_app.command("done")
def action_done(
    action_id: ActionId,
    note: Annotated[str, typer.Option(help="What was done, for the record.")] = "",
    by: Annotated[int | None, typer.Option(
        help="The member of staff signing it off (a person's number); else its owner.")
    ] = None,
) -> None:
    """Sign an action off; the people whose ideas led to it hear "you said, we did"."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        action = session.get(Action, action_id)
        if action is None:
            refused(f"There is no action {action_id}.")
        if action.status == ActionStatus.DONE:
            refused(f"Action {action_id} was already signed off by "
                    f"{name_of(session, action.done_by)}.")
        signer = session.get(Person, by if by is not None else action.owner_id)
        if signer is None:
            refused(f"There is no person {by}.")
        assert signer.id is not None
        if not people.roles_of(session=session, person_id=signer.id) & {Role.STAFF, Role.ADMIN}:
            refused(f"{name_of(session, signer.id)} is not staff, so cannot sign an action off.")
        completion = complete_action(session=session, action_id=action_id, by=signer,
                                     note=note, now=voicebank.clock.now(),
                                     by_staff_command=True, actor=ACTOR)
        if not completion.done:
            refused(f"Action {action_id} cannot be signed off ({completion.why}).")
        from_ideas = bool(ideas_of(session, action_id))
        signed = name_of(session, signer.id)
    typer.echo(f"Action {action_id} is done, signed off by {signed}.")
    if completion.told:
        typer.echo(f'Told {plural(completion.told, "person", "people")} "you said, we did".')
    elif from_ideas:
        typer.echo('Nobody could be told "you said, we did": the ideas were anonymous, or '
                   "their authors said STOP or have no address.")
    else:
        typer.echo("It came from a standard, not from ideas, so there was nobody to tell.")


# Surgeries ---------------------------------------------------------------------------------


def people_at(session: Session, surgery: Surgery) -> int:
    """How many service users at the surgery's service will be told it is coming."""
    return len(surgery_audience(session=session, surgery=surgery))


def when_sent(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    return spoken_time(moment, zone) if moment > now else "straight away"


def surgery_title(session: Session, surgery: Surgery, zone: ZoneInfo) -> str:
    """``Max at Willow House (the quiet room), Tuesday 1 December 2026 10:00 to 12:00``."""
    start, end = surgery.starts_at.astimezone(zone), surgery.ends_at.astimezone(zone)
    place = f" ({surgery.place})" if surgery.place else ""
    ends = f"{end:%H:%M}" if end.date() == start.date() else spoken_time(end, zone)
    return (f"{name_of(session, surgery.mp_id)} at {service_name(session, surgery.service_id)}"
            f"{place}, {long_date(start.date())} {start:%H:%M} to {ends}")


@surgery_app.command("add")
def surgery_add(
    mp: Annotated[int, typer.Option(help="The MP visiting: a person's number.")],
    service: Annotated[str, typer.Option(help="The service's join code.")],
    starts: Annotated[str, typer.Option(help="Local time like '2026-12-01 10:00'.")],
    ends: Annotated[str | None, typer.Option(help="When it ends; else 2 hours later.")] = None,
    place: Annotated[str, typer.Option(help="Where at the service, like 'the lounge'.")] = "",
) -> None:
    """Book an MP's surgery at a service; reminders go by themselves."""
    settings = command_settings()
    zone = settings.zone
    try:
        starts_at = parse_local_time(starts, zone)
    except ValueError as error:
        badly_written(f"--starts: {error}")
    try:
        ends_at = parse_local_time(ends, zone) if ends else starts_at + SURGERY_LENGTH
    except ValueError as error:
        badly_written(f"--ends: {error}")
    if ends_at <= starts_at:
        badly_written("--ends: a surgery must end after it starts.")
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        now = voicebank.clock.now()
        if starts_at <= now:
            badly_written("--starts: that time has passed; give a time in the future.")
        try:
            surgery = schedule_surgery(session=session, mp_id=mp, service_code=service,
                                       starts_at=starts_at, ends_at=ends_at, now=now,
                                       actor=ACTOR, place=place)
        except ActionError as error:
            refused(str(error))
        title = surgery_title(session, surgery, zone)
        mp_name, where = name_of(session, mp), service_name(session, surgery.service_id)
        told = people_at(session, surgery)
    mp_times = " and ".join(when_sent(starts_at - before, now, zone)
                            for before in MP_BEFORE.values())
    typer.echo(f"Surgery {surgery.id}: {title}.\nReminders will go:\n"
               f"  to {mp_name}: {mp_times}\n"
               f"  to the {plural(told, 'person', 'people')} at {where}: "
               f"{when_sent(starts_at - SERVICE_BEFORE, now, zone)}\n"
               f"  to {mp_name} when it ends ({spoken_time(ends_at, zone)}): what did people say?")


@surgery_app.command("list")
def surgery_list(
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Only those to come.")] = False,
) -> None:
    """List surgeries: number, status, when, MP, service, and how many ideas were heard."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        query = select(Surgery).order_by(col(Surgery.starts_at), col(Surgery.id))
        if upcoming:
            query = query.where(Surgery.status == SurgeryStatus.SCHEDULED,
                                col(Surgery.starts_at) > voicebank.clock.now())
        heard: dict[int, int] = defaultdict(int)
        for surgery_id in session.exec(select(Suggestion.surgery_id)
                                       .where(col(Suggestion.surgery_id).is_not(None))):
            heard[surgery_id or 0] += 1
        lines = [f"{s.id:>4}  {s.status:<9}  {local(s.starts_at, settings.zone)}  "
                 f"{shorten(name_of(session, s.mp_id), 18):<18} "
                 f"{shorten(service_name(session, s.service_id), 20):<20} "
                 f"{plural(heard[s.id or 0], 'idea', 'ideas')}"
                 for s in session.exec(query)]
    if not lines:
        typer.echo("No surgeries are coming up." if upcoming else
                   "There are no surgeries yet. Book one: voicebank surgery add --mp ID "
                   "--service CODE --starts '2026-12-01 10:00'")
    for line in lines:
        typer.echo(line)


@surgery_app.command("show")
def surgery_show(surgery_id: SurgeryId) -> None:
    """Show a surgery and the ideas the MP logged from it."""
    settings = command_settings()
    zone = settings.zone
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        surgery = session.get(Surgery, surgery_id)
        if surgery is None:
            refused(f"There is no surgery {surgery_id}.")
        ideas = list(session.exec(select(Suggestion).where(Suggestion.surgery_id == surgery_id)
                                  .order_by(col(Suggestion.id))))
        led_to = actions_by_idea(session)
        written = local(surgery.logged_at, zone) if surgery.logged_at else "not yet"
        lines = [f"Surgery {surgery.id}: {surgery_title(session, surgery, zone)}.",
                 f"Status: {surgery.status}.", f"Written up: {written}.",
                 "", "Ideas heard:" if ideas else "No ideas logged from it yet."]
        lines += [idea_line(session, idea, led_to.get(idea.id or 0, []), zone, width=200)
                  for idea in ideas]
    for line in lines:
        typer.echo(line)


@surgery_app.command("cancel")
def surgery_cancel(surgery_id: SurgeryId) -> None:
    """Cancel a surgery that has not started: no more reminders go about it."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        try:
            surgery = cancel_surgery(session=session, surgery_id=surgery_id,
                                     now=voicebank.clock.now(), actor=ACTOR)
        except ActionError as error:
            refused(str(error))
        where = service_name(session, surgery.service_id)
        reminded = len(list(session.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.dedupe_key).startswith(f"surgery:{surgery_id}:")))))
    typer.echo(f"Surgery {surgery_id} at {where} is cancelled. No more reminders will go "
               "about it.")
    if reminded:
        typer.echo(f"{plural(reminded, 'reminder about it was', 'reminders about it were')} "
                   "already sent or queued; tell those people it is off.")
