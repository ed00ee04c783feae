"""The ``voicebank`` command: run the app, try the demo, chat, and staff commands by noun."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.urns import InvalidURN, normalise_urn
from storage import people
from storage.database import create_database_engine, transaction
from storage.migrate import current_revision, upgrade_database
from storage.tables import Address, Constituency, Person, PersonRole, Role, Service
from voicebank.account_cli import token_app, user_app
from voicebank.action_cli import action_app, surgery_app
from voicebank.chat import chat, lines_from
from voicebank.cli_support import command_settings, configure_logging, opened
from voicebank.demo import (
    DEMO_LEAD_EMAIL,
    DEMO_LEAD_PASSWORD,
    demo_services,
    ensure_demo_account,
    ensure_demo_organisation,
)
from voicebank.election_cli import election_app
from voicebank.report_cli import report_app
from voicebank.settings import Settings
from voicebank.survey_cli import survey_app
from voicebank.wiring import assemble

app = typer.Typer(help="Voicebank: hear the people you support, by chat and SMS.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
person_app = typer.Typer(help="People the bot talks to.", no_args_is_help=True)
service_app = typer.Typer(help="Services and their join codes.", no_args_is_help=True)
constituency_app = typer.Typer(help="Constituencies.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(person_app, name="person")
app.add_typer(service_app, name="service")
app.add_typer(constituency_app, name="constituency")
app.add_typer(survey_app, name="survey")
app.add_typer(election_app, name="election")
app.add_typer(action_app, name="action")
app.add_typer(surgery_app, name="surgery")
app.add_typer(report_app, name="report")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]
Workers = Annotated[int, typer.Option(
    min=1, max=64, help="Web worker processes (several need PostgreSQL; see docs/deploy.md).")]
Dispatch = Annotated[bool, typer.Option(
    "--dispatcher/--no-dispatcher", help="Send the outbox from this process.")]
Handle = Annotated[bool, typer.Option(
    "--handling/--no-handling",
    help="Handle messages in this process (off: only store them for a worker to handle).")]
Schedule = Annotated[bool, typer.Option(
    "--scheduler/--no-scheduler",
    help="Take part in the scheduler (one process leads at a time).")]


WORKER_START_SECONDS = 60


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn  # the web stack loads only for the commands that serve it

    from voicebank.web.app import create_app

    try:
        if workers == 1:
            uvicorn.run(create_app(settings, long_running=True), host=host, port=port,
                        log_level="info")
        else:
            # Each worker process builds its own app from the VOICEBANK_ environment; it
            # imports the whole app first, which on a busy small machine takes some seconds.
            uvicorn.run("voicebank.web.app:create_app_from_environment", factory=True,
                        host=host, port=port, workers=workers, log_level="info",
                        timeout_worker_healthcheck=WORKER_START_SECONDS)
    except KeyboardInterrupt:
        typer.echo("Voicebank stopped.")


def _roles(settings: Settings, **roles: bool) -> Settings:
    """The settings with this process's roles (handling, dispatcher, scheduler), also in the
    environment its worker processes read."""
    for role, on in roles.items():
        os.environ[f"VOICEBANK_{role.upper()}"] = "true" if on else "false"
    return settings.model_copy(update=roles)


def _describe(roles: dict[str, bool]) -> str:
    return "; ".join(f"{role} {'on' if on else 'off'}" for role, on in roles.items())


@app.command()
def run(
    host: Host = "127.0.0.1", port: Port = 8000, workers: Workers = 1,
    handling: Handle = True, dispatcher: Dispatch = True, scheduler: Schedule = True,
) -> None:
    """Start the web app, the scheduler and the configured channels."""
    roles = {"handling": handling, "dispatcher": dispatcher, "scheduler": scheduler}
    settings = _roles(command_settings(), **roles)
    database = make_url(settings.database_url)
    if workers > 1 and database.get_backend_name() == "sqlite":
        typer.echo("Several web workers share one database: use PostgreSQL "
                   "(VOICEBANK_DATABASE_URL=postgresql+psycopg://…), or one worker on SQLite.",
                   err=True)
        raise typer.Exit(2)
    typer.echo(f"Voicebank is listening on http://{host}:{port}  (database: "
               f"{database.render_as_string(hide_password=True)})")
    for line in describe_channels(settings):
        typer.echo(f"  {line}")
    typer.echo(f"  {workers} web worker{'s' if workers > 1 else ''}; {_describe(roles)}")
    _serve(settings, host, port, workers)


@app.command()
def worker(handling: Handle = True, dispatcher: Dispatch = True, scheduler: Schedule = True
           ) -> None:
    """Handle messages, send the outbox and/or run the scheduler without serving the web,
    beside web workers started with `voicebank run --no-…` (see docs/deploy.md)."""
    from voicebank.worker import run_worker

    roles = {"handling": handling, "dispatcher": dispatcher, "scheduler": scheduler}
    if not any(roles.values()):
        typer.echo("A worker with no handling, no dispatcher and no scheduler has nothing to "
                   "do.", err=True)
        raise typer.Exit(2)
    settings = _roles(command_settings(), **roles)
    typer.echo(f"Voicebank worker: {_describe(roles)} (database: "
               f"{make_url(settings.database_url).render_as_string(hide_password=True)})")
    with opened(settings) as voicebank:
        asyncio.run(run_worker(voicebank))


def describe_channels(settings: Settings) -> list[str]:
    """What each channel will do, and what to tell Twilio and BotFather."""
    lines = []
    if settings.sms_on:
        lines.append(f"SMS: from {settings.twilio_from}; give Twilio the webhook "
                     f"{settings.public_url}/sms/twilio (HTTP POST)")
    else:
        lines.append("SMS: off (set VOICEBANK_TWILIO_ACCOUNT_SID, VOICEBANK_TWILIO_AUTH_TOKEN "
                     "and VOICEBANK_TWILIO_FROM)")
    if not settings.telegram_on:
        lines.append("Telegram: off (set VOICEBANK_TELEGRAM_TOKEN)")
    elif settings.telegram_webhook_secret is not None:
        lines.append(f"Telegram: webhook at {settings.public_url}/telegram/webhook")
    else:
        lines.append("Telegram: long polling")
    return lines


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Fill a local SQLite file with a demo organisation and start the app on it."""
    settings = command_settings()
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        typer.echo("The demo fills a local SQLite file. Unset VOICEBANK_DATABASE_URL, or set it "
                   "to a sqlite:/// URL, to run it.", err=True)
        raise typer.Exit(2)
    voicebank = assemble(settings)
    created = ensure_demo_organisation(database=voicebank.database, clock=voicebank.clock)
    ensure_demo_account(database=voicebank.database, clock=voicebank.clock)
    voicebank.close()
    database = make_url(settings.database_url).database
    typer.echo(("Created" if created else "Reusing") + f" the demo organisation in {database}.")
    typer.echo("\nJoin codes for the demo services:")
    for service in demo_services():
        typer.echo(f"  {service.join_code:<8} {service.name} ({service.constituency})")
    typer.echo(
        f"\nVoicebank is listening on http://{host}:{port}  (health: /healthz)\n"
        f"\nThe dashboard: http://{host}:{port}/sign-in\n"
        f"  email {DEMO_LEAD_EMAIL}   password {DEMO_LEAD_PASSWORD}\n"
        "\nTo chat with it as a new person, in another terminal run:\n"
        "  voicebank chat --as tel:+447700900123\n"
        f"then send: JOIN {demo_services()[0].join_code}\n"
        "Send HELP, MENU, IDEA, SURVEY, VOTE, STAND, STOP or START at any time.\n"
        "\nStaff commands, in another terminal: voicebank survey …, voicebank election …,\n"
        "voicebank action …, voicebank surgery …, voicebank report … (add --help to any).\n"
        "Press Ctrl+C here to stop.\n"
    )
    _serve(settings, host, port)


@app.command("tick")
def tick_command() -> None:
    """Do now what the scheduler does every minute: open and close surveys and elections,
    send due reminders, and nudge action owners. Safe to run at any time, as often as you like."""
    from bot.actions.schedule import action_tick
    from bot.elections.schedule import election_tick
    from bot.surveys.invitations import survey_tick

    settings = command_settings()
    with opened(settings) as voicebank:
        now, zone = voicebank.clock.now(), settings.zone
        surveys = survey_tick(database=voicebank.database, now=now, zone=zone)
        elections = election_tick(database=voicebank.database, now=now, zone=zone)
        actions = action_tick(database=voicebank.database, now=now, zone=zone,
                              nudge_days=settings.nudge_days_list)
    typer.echo(
        f"Surveys opened {len(surveys.opened)}, closed {len(surveys.closed)}, "
        f"reminders {surveys.reminded}. Elections moved {len(elections.moved)}, "
        f"reminders {elections.reminded}. Actions: {actions.nudged} owners nudged, "
        f"{actions.leads_told} leads told; {actions.surgery_messages} surgery messages."
    )


@app.command("chat")
def chat_command(
    urn: Annotated[str, typer.Option("--as", help="Who you are, e.g. tel:+447700900123.")],
) -> None:
    """Talk to the bot in this terminal as URN (one message a line when input is piped)."""
    settings = command_settings()
    try:
        address = normalise_urn(urn)
    except InvalidURN as error:
        typer.echo(f"Cannot chat as {urn}: {error}", err=True)
        raise typer.Exit(2) from None
    voicebank = assemble(settings)
    unconfigured = []
    if not settings.sms_on:
        unconfigured.append("sms")
    if not settings.telegram_on:
        unconfigured.append("telegram")
    interactive = sys.stdin.isatty()

    def write(text: str) -> None:
        typer.echo(text + "\n")

    def read_line() -> str:
        try:
            return input("you> ") + "\n"
        except EOFError:
            return ""

    if interactive:
        typer.echo(f"Chatting with Voicebank as {address}. Type a message and press Enter; "
                   "Ctrl+D to leave.\n")
    try:
        asyncio.run(chat(
            voicebank, address=address,
            read_line=read_line if interactive else lines_from(sys.stdin),
            write=write, show_as_console=unconfigured,
        ))
    except KeyboardInterrupt:
        pass
    finally:
        voicebank.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration not yet applied."""
    settings = command_settings()
    engine = create_database_engine(settings.database_url)
    upgrade_database(engine)
    typer.echo(f"The database is at revision {current_revision(engine)}.")


@constituency_app.command("add")
def constituency_add(name: str) -> None:
    """Add a constituency."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        people.add_constituency(session=session, name=name)
    typer.echo(f"Added the constituency {name}.")


@service_app.command("add")
def service_add(
    name: str,
    constituency: Annotated[str, typer.Option(help="The constituency it is in.")],
    code: Annotated[str, typer.Option(help="The join code on its poster, e.g. OAK3.")],
) -> None:
    """Add a service, with the join code people text to join it."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        found = session.exec(select(Constituency).where(Constituency.name == constituency)).first()
        if found is None or found.id is None:
            typer.echo(f"There is no constituency called {constituency}.", err=True)
            raise typer.Exit(1)
        if people.service_by_join_code(session=session, code=code):
            typer.echo(f"The join code {code.upper()} is already used.", err=True)
            raise typer.Exit(1)
        people.add_service(session=session, name=name, constituency_id=found.id, join_code=code)
    typer.echo(f"Added {name}. People join it by sending: JOIN {code.upper()}")


@service_app.command("list")
def service_list() -> None:
    """List services with their constituencies and join codes."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        rows = session.exec(
            select(Service, Constituency)
            .join(Constituency, col(Service.constituency_id) == col(Constituency.id))
            .order_by(col(Service.id))
        ).all()
        for service, constituency in rows:
            typer.echo(f"{service.join_code:<8} {service.name} ({constituency.name})")


@person_app.command("add")
def person_add(
    name: str,
    urn: Annotated[list[str], typer.Option("--urn", help="An address; repeat for more.")],
    service: Annotated[str | None, typer.Option(help="The service's join code.")] = None,
    role: Annotated[list[Role] | None, typer.Option(help="A role; repeat for more.")] = None,
    language: Annotated[str, typer.Option(help="Preferred language.")] = "en",
) -> None:
    """Add a person with one or more addresses."""
    try:
        addresses = [normalise_urn(u) for u in urn]
    except InvalidURN as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    with opened() as voicebank, transaction(voicebank.database) as session:
        service_id = None
        if service:
            found = people.service_by_join_code(session=session, code=service)
            if found is None:
                typer.echo(f"No service has the join code {service}.", err=True)
                raise typer.Exit(1)
            service_id = found.id
        for address in addresses:
            if people.find_by_address(session=session, urn=address):
                typer.echo(f"{address} already belongs to someone.", err=True)
                raise typer.Exit(1)
        person = people.add_person(
            session=session, urns=addresses, now=voicebank.clock.now(), name=name,
            roles=role or [Role.SERVICE_USER], service_id=service_id, language=language,
        )
    typer.echo(f"Added {name} (person {person.id}).")


@person_app.command("list")
def person_list() -> None:
    """List people with their roles and addresses."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        for person in session.exec(select(Person).order_by(col(Person.id))):
            roles = session.exec(select(PersonRole.role).where(PersonRole.person_id == person.id))
            urns = session.exec(select(Address.urn).where(Address.person_id == person.id))
            stopped = "  (stopped messages)" if person.opted_out_at else ""
            typer.echo(f"{person.id:>4}  {person.name or '(no name)':<16} "
                       f"{','.join(sorted(roles)):<20} {' '.join(urns)}{stopped}")


def main() -> None:
    configure_logging()
    app()
