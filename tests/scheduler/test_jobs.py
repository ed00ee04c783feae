"""The scheduler's jobs, called directly as APScheduler would call them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import ManualClock
from bot.conversation import Kind
from bot.engine import ConversationEngine
from bot.surveys.definition import QuestionDef, SurveyDef
from bot.surveys.store import save_survey
from scheduler.jobs import run_action_tick, run_survey_tick
from scheduler.runner import build_scheduler
from storage.database import transaction
from storage.tables import Survey, SurveyStatus


async def test_the_survey_tick_opens_and_closes_surveys_on_time(
    database: Engine, engine: ConversationEngine, clock: ManualClock
) -> None:
    with transaction(database) as session:
        survey_id = save_survey(session=session, now=clock.now(), survey=SurveyDef(
            title="Food", opens_at=clock.now() + timedelta(minutes=5),
            closes_at=clock.now() + timedelta(hours=1),
            questions=(QuestionDef(position=1, kind=Kind.TEXT, text="What shall we cook?"),),
        ))

    assert (await run_survey_tick(engine, "Europe/London")).opened == ()
    clock.advance(timedelta(minutes=5))
    assert (await run_survey_tick(engine, "Europe/London")).opened == (survey_id,)
    clock.advance(timedelta(hours=1))
    assert (await run_survey_tick(engine, "Europe/London")).closed == (survey_id,)
    with Session(database) as session:
        assert session.get_one(Survey, survey_id).status == SurveyStatus.CLOSED


def test_the_scheduler_runs_the_inbox_sweep_and_the_ticks(
    engine: ConversationEngine,
) -> None:
    scheduler = build_scheduler(engine=engine, timezone="Europe/London")

    jobs = {job.id: job for job in scheduler.get_jobs()}

    assert set(jobs) == {"handle_waiting_messages", "survey_tick", "election_tick",
                         "action_tick"}
    assert jobs["survey_tick"].trigger.interval == timedelta(minutes=1)


def test_a_process_may_leave_out_the_sweep_or_the_ticks(engine: ConversationEngine) -> None:
    web_only = build_scheduler(engine=engine, timezone="Europe/London", ticks=False)
    sender = build_scheduler(engine=engine, timezone="Europe/London", sweep=False)

    assert [job.id for job in web_only.get_jobs()] == ["handle_waiting_messages"]
    assert {job.id for job in sender.get_jobs()} == {"survey_tick", "election_tick",
                                                     "action_tick"}


def test_the_action_tick_nudges_on_the_days_the_deployment_chose(
    engine: ConversationEngine,
) -> None:
    scheduler = build_scheduler(engine=engine, timezone="Europe/London", nudge_days=(14, 2))

    job = scheduler.get_job("action_tick")

    assert job.args[1:] == (run_action_tick, engine, "Europe/London", (14, 2))
