"""Actions and surgeries by the clock: nudges to owners, reminders to MPs and to the people
at a service, and a follow-up asking the MP what people said. Each goes once (a dedupe key
per action or surgery, person and occasion), even after a restart or with two processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.nudges import DEFAULT_BEFORE, due_nudge
from bot.actions.service import lead_contacts
from bot.actions.surgeries import service_name, surgery_audience
from bot.catalogue import load_catalogue
from bot.clock import spoken_day, spoken_time
from bot.messages import Outgoing
from bot.outreach import queue_for_person
from storage import outbox
from storage.database import lock_name, transaction
from storage.tables import (
    Action,
    ActionStatus,
    Person,
    Priority,
    Surgery,
    SurgeryStatus,
)

log = logging.getLogger(__name__)

MP_BEFORE = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
SERVICE_BEFORE = timedelta(days=2)


@dataclass(frozen=True)
class ActionTick:
    nudged: int = 0
    leads_told: int = 0
    surgery_messages: int = 0


def send_nudges(*, session: Session, now: datetime, zone: ZoneInfo,
                before: tuple[int, ...] = DEFAULT_BEFORE) -> tuple[int, int]:
    """Nudge owners of open actions whose nudge has come due; (owners, leads) told."""
    # Only actions due within the first nudge's days can have a nudge due; of those, the
    # ones whose nudge (and the leads' word) is already in the outbox are passed over with
    # one look at the outbox, so a tick that has nothing new to send is cheap.
    horizon = now.astimezone(zone).date() + timedelta(days=max(before, default=0) + 1)
    open_actions = session.exec(select(Action).where(
        Action.status == ActionStatus.OPEN, col(Action.due_on) <= horizon,
    ).order_by(col(Action.id)))
    due = [(action, nudge) for action in open_actions
           if (nudge := due_nudge(due_on=action.due_on, now=now, zone=zone, before=before))
           is not None]
    leads = lead_contacts(session=session) if any(n.tell_lead for _, n in due) else []

    def lead_key(action: Action, key: str, lead: Person) -> str:
        return f"action:{action.id}:lead:{key}:person:{lead.id}"

    keys = {f"action:{action.id}:nudge:{nudge.key}": (action, nudge) for action, nudge in due}
    wanted = set(keys) | {lead_key(action, nudge.key, lead) for action, nudge in due
                          if nudge.tell_lead for lead in leads}
    queued = outbox.keys_queued(session=session, keys=wanted)
    nudged = told = 0
    for key, (action, nudge) in keys.items():
        to_tell = [lead for lead in leads if nudge.tell_lead
                   and lead_key(action, nudge.key, lead) not in queued]
        if key in queued and not to_tell:
            continue
        owner = session.get_one(Person, action.owner_id)
        texts = load_catalogue(owner.language)
        due_day = spoken_day(action.due_on)
        if nudge.key.startswith("before"):
            text = texts.text("action.nudge_before", number=action.id, what=action.what,
                              due=due_day)
        elif nudge.key == "due":
            text = texts.text("action.nudge_today", number=action.id, what=action.what)
        else:
            text = texts.text("action.nudge_late", number=action.id, what=action.what,
                              due=due_day)
        if key not in queued and queue_for_person(
                session=session, person=owner, messages=[Outgoing(text)], now=now,
                priority=Priority.REPLY, dedupe_key=key):
            nudged += 1
        for lead in to_tell:
            lead_texts = load_catalogue(lead.language)
            message = Outgoing(lead_texts.text(
                "action.lead", number=action.id, what=action.what,
                owner=owner.name or f"person {owner.id}", due=due_day,
            ))
            if queue_for_person(session=session, person=lead, messages=[message], now=now,
                                priority=Priority.REPLY,
                                dedupe_key=lead_key(action, nudge.key, lead)):
                told += 1
    return nudged, told


def send_surgery_messages(*, session: Session, now: datetime, zone: ZoneInfo) -> int:
    """Remind MPs the day and the hour before, tell the service two days before, and ask
    the MP afterwards what people said."""
    sent = 0
    upcoming = session.exec(select(Surgery).where(
        Surgery.status == SurgeryStatus.SCHEDULED, col(Surgery.starts_at) > now,
        col(Surgery.starts_at) <= now + SERVICE_BEFORE,
    ))
    for surgery in upcoming:
        mp = session.get_one(Person, surgery.mp_id)
        where = service_name(session, surgery.service_id)
        when = spoken_time(surgery.starts_at, zone)
        # Only the nearest reminder whose time has come: never the day-before and the
        # hour-before together after the scheduler was away.
        due_now = sorted((before, occasion) for occasion, before in MP_BEFORE.items()
                         if surgery.starts_at - before <= now)
        if due_now:
            occasion = due_now[0][1]
            texts = load_catalogue(mp.language)
            text = texts.text("surgery.reminder", service=where, when=when)
            if queue_for_person(session=session, person=mp, messages=[Outgoing(text)],
                                now=now, priority=Priority.REPLY,
                                dedupe_key=f"surgery:{surgery.id}:mp:{occasion}"):
                sent += 1
        for person in surgery_audience(session=session, surgery=surgery):
            texts = load_catalogue(person.language)
            text = texts.text("surgery.coming", mp=mp.name or "your MP", when=when)
            if queue_for_person(session=session, person=person, messages=[Outgoing(text)],
                                now=now,
                                dedupe_key=f"surgery:{surgery.id}:service:person:{person.id}"):
                sent += 1
    finished = session.exec(select(Surgery).where(
        col(Surgery.status).in_([SurgeryStatus.SCHEDULED, SurgeryStatus.HELD]),
        col(Surgery.ends_at) <= now, col(Surgery.logged_at).is_(None),
        col(Surgery.ends_at) > now - timedelta(days=7),
    ))
    for surgery in finished:
        mp = session.get_one(Person, surgery.mp_id)
        texts = load_catalogue(mp.language)
        text = texts.text("surgery.follow_up", service=service_name(session, surgery.service_id))
        if queue_for_person(session=session, person=mp, messages=[Outgoing(text)], now=now,
                            priority=Priority.REPLY,
                            dedupe_key=f"surgery:{surgery.id}:follow_up"):
            sent += 1
    return sent


def action_tick(*, database: Engine, now: datetime, zone: ZoneInfo,
                nudge_days: tuple[int, ...] = DEFAULT_BEFORE) -> ActionTick:
    """What the scheduler runs every minute for actions and surgeries, under a lock.
    ``nudge_days`` are the days before an action's date its owner is nudged."""
    with transaction(database) as session:
        lock_name(session, "action_tick")
        nudged, leads = send_nudges(session=session, now=now, zone=zone, before=nudge_days)
        surgery_messages = send_surgery_messages(session=session, now=now, zone=zone)
    if nudged or leads or surgery_messages:
        log.info("nudged %d owners (%d leads), %d surgery messages", nudged, leads,
                 surgery_messages)
    return ActionTick(nudged=nudged, leads_told=leads, surgery_messages=surgery_messages)
