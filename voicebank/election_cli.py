"""``voicebank election …``: create elections and polls, take nominations, open and close
voting, count, recount, announce, and publish the result and the receipts.

Each command is one transaction over :mod:`bot.elections.service`; a step the rules refuse
is printed in plain words with exit code 1, and a badly written option exits with 2. How
options are read and elections described is in :mod:`voicebank.election_words`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from bot.elections import outcome, service
from bot.elections.service import ElectionError, PollOption
from storage import people
from storage.database import transaction
from storage.tables import (
    Candidate,
    Constituency,
    Election,
    ElectionKind,
    ElectionStatus,
    MpTerm,
    Person,
    Role,
    RollEntry,
)
from voicebank.cli_support import command_settings, local, opened
from voicebank.election_report import receipts_list, results_chart
from voicebank.election_words import (
    ELECTORATE_HELP,
    badly_written,
    ballot_name,
    candidate_names,
    describe_electorate,
    describe_reminders,
    describe_times,
    named,
    not_found,
    parse_electorate,
    parse_option,
    parse_reminders,
    parse_times,
    plural,
    refused,
    result_text,
    sentence,
)

election_app = typer.Typer(help="Elections of service user MPs, and polls.",
                           no_args_is_help=True)

ACTOR = "staff:cli"
PHASES = list(ElectionStatus)

Id = Annotated[int, typer.Argument(metavar="ID", help="The election's or poll's number.")]
NominationsAt = Annotated[str | None, typer.Option(
    "--nominations", help="When nominations open, local time like '2026-12-01 09:00'.")]
VotingAt = Annotated[str | None, typer.Option(
    "--voting", help="When voting opens, local time like '2026-12-01 09:00'.")]
ClosesAt = Annotated[str | None, typer.Option(
    "--closes", help="When voting closes, local time like '2026-12-08 17:00'.")]
Reminders = Annotated[list[str] | None, typer.Option(
    "--remind", help="Remind non-voters this long before voting closes, like '2 days'; "
                     "repeat for more.")]


# Shared pieces -----------------------------------------------------------------------------


def find_election(session: Session, election_id: int) -> Election:
    election = session.get(Election, election_id)
    if election is None:
        not_found(f"There is no election {election_id}.")
    return election


def has_reached(election: Election, phase: ElectionStatus) -> bool:
    return PHASES.index(ElectionStatus(election.status)) >= PHASES.index(phase)


# Creating ----------------------------------------------------------------------------------


@election_app.command("create")
def election_create(
    constituency: Annotated[str, typer.Option(help="The constituency the MP is for.")],
    seats: Annotated[int, typer.Option(help="How many MPs to elect.")] = 1,
    term_months: Annotated[int, typer.Option(min=1, help="How long an MP serves.")] = 12,
    nominations: NominationsAt = None,
    voting: VotingAt = None,
    closes: ClosesAt = None,
    remind: Reminders = None,
    title: Annotated[str | None, typer.Option(help="Else 'Service user MP for NAME'.")] = None,
) -> None:
    """Create an election of service user MPs for a constituency."""
    settings = command_settings()
    reminders = parse_reminders(remind)
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        now = voicebank.clock.now()
        times = parse_times(settings.zone, now, nominations=nominations, voting=voting,
                            closes=closes)
        try:
            election = service.create_election(
                session=session, constituency=constituency, seats=seats,
                term_months=term_months, now=now, reminders=reminders, title=title,
                nominations_open_at=times.get("nominations"),
                voting_opens_at=times.get("voting"), voting_closes_at=times.get("closes"))
        except ElectionError as error:
            refused(error)
    typer.echo(f"Created election {election.id}: {election.title} "
               f"({plural(seats, 'seat', 'seats')}, {term_months} month term). "
               f"{sentence(describe_times(election, settings.zone))}. "
               f"{describe_reminders(election)}")


@election_app.command("poll")
def election_poll(
    title: Annotated[str, typer.Option(help="A short name for the poll.")],
    question: Annotated[str, typer.Option(help="The question people answer.")],
    option: Annotated[list[str], typer.Option(
        help="An answer, an emoji first if you like: '🌳 Oak House'; repeat for each.")],
    electorate: Annotated[str, typer.Option(help=ELECTORATE_HELP)],
    picture: Annotated[list[str] | None, typer.Option(
        help="A picture for an option, as NUMBER=FILE like 1=oak.jpg; repeat for more.")
    ] = None,
    voting: VotingAt = None,
    closes: ClosesAt = None,
    remind: Reminders = None,
) -> None:
    """Create a poll: one question put to an electorate, such as all the MPs."""
    settings = command_settings()
    options = [parse_option(text) for text in option]
    for given in picture or ():
        number, _, file = given.partition("=")
        if not number.strip().isdigit() or not 1 <= int(number) <= len(options) or not file:
            badly_written(f"--picture: write it like 1=oak.jpg, with an option number from 1 "
                          f"to {len(options)}.")
        index = int(number) - 1
        options[index] = PollOption(label=options[index].label, emoji=options[index].emoji,
                                    picture=file.strip())
    kind, value = parse_electorate(electorate)
    reminders = parse_reminders(remind)
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        now = voicebank.clock.now()
        times = parse_times(settings.zone, now, voting=voting, closes=closes)
        if kind == "constituency" and session.exec(
                select(Constituency).where(Constituency.name == value)).first() is None:
            not_found(f"There is no constituency called {value}.")
        if kind == "service" and people.service_by_join_code(session=session,
                                                             code=value) is None:
            not_found(f"No service has the join code {value}.")
        try:
            poll = service.create_poll(
                session=session, title=title, question=question, options=options,
                electorate_kind=kind, electorate_value=value, now=now, reminders=reminders,
                voting_opens_at=times.get("voting"), voting_closes_at=times.get("closes"))
        except ElectionError as error:
            refused(error)
    typer.echo(f"Created poll {poll.id}: {poll.title} ({plural(len(options), 'option', 'options')}"
               f", for {describe_electorate(poll)}). "
               f"{sentence(describe_times(poll, settings.zone))}. {describe_reminders(poll)}")


# Looking -----------------------------------------------------------------------------------


@election_app.command("list")
def election_list() -> None:
    """List elections and polls: id, kind, phase, title and times."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        rows = list(session.exec(select(Election).order_by(col(Election.id))))
    if not rows:
        typer.echo("There are no elections or polls yet. Create one: "
                   "voicebank election create --constituency NAME")
        return
    for row in rows:
        typer.echo(f"{row.id:>4}  {row.kind:<8} {row.status:<11} {row.title[:40]:<40}  "
                   f"{describe_times(row, settings.zone)}")


@election_app.command("show")
def election_show(election_id: Id) -> None:
    """Show everything about an election or poll: phase, times, candidates, turnout."""
    settings = command_settings()
    zone = settings.zone
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        standing = service.candidates(session=session, election_id=election_id)
        voted, on_roll = service.turnout(session=session, election_id=election_id)
    is_election = election.kind == ElectionKind.ELECTION
    lines = [f"{'Election' if is_election else 'Poll'} {election.id}: {election.title}"
             f"  ({election.status})",
             f"Question: {election.question}",
             f"Who votes: {describe_electorate(election)}."]
    if is_election:
        lines.append(f"Seats: {election.seats}. Term: {election.term_months} months.")
    lines += [sentence(describe_times(election, zone)) + ".", describe_reminders(election)]
    if has_reached(election, ElectionStatus.VOTING):
        share = f" ({voted / on_roll * 100:.1f}%)" if on_roll else ""
        lines.append(f"Turnout: {voted} of {on_roll} voted{share}.")
    if election.seed and has_reached(election, ElectionStatus.COUNTED):
        lines.append(f"Counted {local(election.counted_at, zone)} with seed {election.seed}.")
    lines += ["", "Candidates:" if is_election else "Options:"]
    if not standing:
        lines.append("  nobody yet")
    for candidate in standing:
        number = f"{candidate.number:>2}" if candidate.number is not None else " -"
        person = f", person {candidate.person_id}" if candidate.person_id else ""
        lines.append(f"  {number}  {ballot_name(candidate)}  ({candidate.status}, "
                     f"candidate {candidate.id}{person})")
        if candidate.change:
            lines.append(f"      What I would change: {candidate.change}")
        if candidate.why:
            lines.append(f"      Why me: {candidate.why}")
        if candidate.picture:
            lines.append(f"      [picture: {candidate.picture}]")
    for line in lines:
        typer.echo(line)


@election_app.command("electorate")
def election_electorate(election_id: Id) -> None:
    """Who may vote: who would be on the roll if it froze now, or the frozen roll."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        frozen = has_reached(election, ElectionStatus.VOTING)
        if frozen:
            voters = list(session.exec(
                select(Person).join(RollEntry, col(RollEntry.person_id) == col(Person.id))
                .where(RollEntry.election_id == election_id).order_by(col(Person.id))))
        else:
            voters = service.electorate(session=session, election=election)
    count = plural(len(voters), "person", "people")
    if frozen:
        typer.echo(f"The roll froze when voting opened: {count}.")
    else:
        typer.echo(f"If the roll froze now, {count} would be on it "
                   f"({describe_electorate(election)}, not counting anyone who said STOP).")
    for person in voters:
        typer.echo(f"{person.id:>4}  {person.name or '(no name)'}")


# Nominations -------------------------------------------------------------------------------


@election_app.command("nominations")
def election_nominations(election_id: Id) -> None:
    """Open nominations now."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        find_election(session, election_id)
        try:
            service.open_nominations(session=session, election_id=election_id,
                                     now=voicebank.clock.now(), actor=ACTOR)
        except ElectionError as error:
            refused(error)
    typer.echo(f"Nominations are open for election {election_id}. Service users can send "
               f"STAND, or put someone forward: voicebank election stand {election_id} "
               f"--person ID --change TEXT --why TEXT")


@election_app.command("stand")
def election_stand(
    election_id: Id,
    person: Annotated[int, typer.Option(help="The person standing (see voicebank person list).")],
    change: Annotated[str, typer.Option(help="What they would change.")],
    why: Annotated[str, typer.Option(help="Why people should vote for them.")],
    picture: Annotated[str | None, typer.Option(help="A picture of them: a file name.")] = None,
) -> None:
    """Put someone forward for an election on their behalf."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        standing = session.get(Person, person)
        if standing is None:
            not_found(f"There is no person {person}.")
        problem = why_cannot_stand(session, election, standing)
        if problem:
            not_found(problem)
        try:
            candidate = service.nominate(
                session=session, election_id=election_id, person=standing, change=change,
                why=why, now=voicebank.clock.now(), picture=picture, actor=ACTOR)
        except ElectionError as error:
            refused(error)
    typer.echo(f"Put {candidate.name} forward for election {election_id} as candidate "
               f"{candidate.id}. Approve them: voicebank election approve {election_id} "
               f"{candidate.id}")


def why_cannot_stand(session: Session, election: Election, person: Person) -> str | None:
    """Only a service user of the constituency may stand, and only once."""
    assert person.id is not None
    name = person.name or f"Person {person.id}"
    if election.kind != ElectionKind.ELECTION:
        return f"{sentence(named(election))} is a poll; nobody stands in a poll."
    if Role.SERVICE_USER not in people.roles_of(session=session, person_id=person.id):
        return f"{name} is not a service user, so cannot stand."
    service_row = session.get(people.Service, person.service_id) if person.service_id else None
    if service_row is None or service_row.constituency_id != election.constituency_id:
        return f"{name} is not supported by a service in {election.electorate_value}."
    already = session.exec(select(Candidate.id).where(
        Candidate.election_id == election.id, Candidate.person_id == person.id)).first()
    if already is not None:
        return f"{name} is already standing in election {election.id} (candidate {already})."
    return None


def decide(election_id: int, candidate_id: int, *, approve: bool) -> None:
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        found = session.get(Candidate, candidate_id)
        if found is None or found.election_id != election_id:
            not_found(f"{sentence(named(election))} has no candidate {candidate_id}.")
        try:
            candidate = service.decide_nomination(
                session=session, candidate_id=candidate_id, approve=approve,
                now=voicebank.clock.now(), actor=ACTOR)
        except ElectionError as error:
            refused(error)
    if approve:
        typer.echo(f"Approved {candidate.name}: number {candidate.number} on the ballot for "
                   f"election {election_id}.")
    else:
        typer.echo(f"Turned down {candidate.name} for election {election_id}.")


@election_app.command("approve")
def election_approve(
    election_id: Id, candidate_id: Annotated[int, typer.Argument(metavar="CANDIDATE_ID")]
) -> None:
    """Approve a nomination: the candidate gets the next number on the ballot."""
    decide(election_id, candidate_id, approve=True)


@election_app.command("decline")
def election_decline(
    election_id: Id, candidate_id: Annotated[int, typer.Argument(metavar="CANDIDATE_ID")]
) -> None:
    """Turn a nomination down."""
    decide(election_id, candidate_id, approve=False)


# Voting and the result ---------------------------------------------------------------------


@election_app.command("open")
def election_open(election_id: Id) -> None:
    """Open voting now: the roll freezes and everyone on it is sent their ballot."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        try:
            roll = service.open_voting(session=session, election_id=election_id,
                                       now=voicebank.clock.now(), actor=ACTOR)
        except ElectionError as error:
            refused(error)
    closing = (local(election.voting_closes_at, settings.zone) if election.voting_closes_at
               else f"when you close it: voicebank election close {election_id}")
    typer.echo(f"Voting is open for {named(election)}. "
               f"{plural(roll, 'person is', 'people are')} on the roll and have been sent "
               f"their ballot. It closes {closing}.")


@election_app.command("close")
def election_close(election_id: Id) -> None:
    """Close voting now: later votes are not counted."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        try:
            service.close_voting(session=session, election_id=election_id,
                                 now=voicebank.clock.now(), actor=ACTOR)
        except ElectionError as error:
            refused(error)
        voted, on_roll = service.turnout(session=session, election_id=election_id)
    typer.echo(f"Voting has closed for {named(election)}: {voted} of {on_roll} voted. "
               f"Count the votes: voicebank election count {election_id}")


@election_app.command("count")
def election_count(
    election_id: Id,
    seed: Annotated[str | None, typer.Option(
        help="The seed for drawing lots if there is a tie; else a random one is recorded.")
    ] = None,
) -> None:
    """Count the votes and show the result."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        try:
            tallies = outcome.count(session=session, election_id=election_id,
                                    now=voicebank.clock.now(), actor=ACTOR, seed=seed)
        except ElectionError as error:
            refused(error)
        table = result_text(session, election, tallies)
    typer.echo(table, nl=False)
    typer.echo(f"\nCheck it: voicebank election recount {election_id}. "
               f"Tell everyone: voicebank election announce {election_id}")


@election_app.command("recount")
def election_recount(election_id: Id) -> None:
    """Count the ballots again with the recorded seed and compare with the result."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        find_election(session, election_id)
        try:
            matches = outcome.recount(session=session, election_id=election_id)
        except ElectionError as error:
            refused(error)
    if not matches:
        typer.echo("The recount does not match the result. Do not announce it; "
                   "ask for help.", err=True)
        raise typer.Exit(1)
    typer.echo("The recount matches the result.")


@election_app.command("announce")
def election_announce(election_id: Id) -> None:
    """Tell the voters and candidates the result; winners of an election become MPs."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        try:
            told = outcome.announce(session=session, election_id=election_id,
                                    now=voicebank.clock.now(), actor=ACTOR)
        except ElectionError as error:
            refused(error)
        by_id = {c.id: c for c in service.candidates(session=session, election_id=election_id)}
        winners = [ballot_name(by_id[t.candidate_id])
                   for t in outcome.stored_result(session=session, election_id=election_id)
                   if t.elected]
        terms = list(session.exec(select(MpTerm).where(MpTerm.election_id == election_id)
                                  .order_by(col(MpTerm.id))))
    verb = "Chosen" if election.kind == ElectionKind.POLL else "Elected"
    typer.echo(f"Told {plural(told, 'person', 'people')} the result of {named(election)}. "
               f"{verb}: {', '.join(winners)}.")
    for term in terms:
        name = next(c.name for c in by_id.values() if c.person_id == term.person_id)
        typer.echo(f"{name} is an MP for {election.electorate_value} until "
                   f"{term.ends_at.astimezone(settings.zone):%Y-%m-%d}.")


@election_app.command("results")
def election_results(
    election_id: Id,
    chart: Annotated[Path | None, typer.Option(help="Also draw a bar chart to this PNG file.")
                     ] = None,
) -> None:
    """Show the result with the turnout, and draw it as a chart if asked."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        tallies = outcome.stored_result(session=session, election_id=election_id)
        if not has_reached(election, ElectionStatus.COUNTED) or not tallies:
            not_found(f"{sentence(named(election))} has not been counted yet.")
        table = result_text(session, election, tallies)
        names = candidate_names(session, election_id)
    typer.echo(table, nl=False)
    if chart is not None:
        drawn = results_chart(title=election.title, tallies=tallies, names=names)
        try:
            chart.write_bytes(drawn.png)
        except OSError as error:
            not_found(f"Cannot write the chart to {chart}: {error.strerror or error}.")
        typer.echo(f"\nThe chart is in {chart}. In words: {drawn.alt_text}")


@election_app.command("receipts")
def election_receipts(election_id: Id) -> None:
    """List every counted ballot's receipt code, so voters can check theirs was counted."""
    with opened() as voicebank, transaction(voicebank.database) as session:
        election = find_election(session, election_id)
        if not has_reached(election, ElectionStatus.CLOSED):
            not_found(f"The receipts of {named(election)} are listed once voting has closed.")
        codes = service.receipts(session=session, election_id=election_id)
    typer.echo(receipts_list(codes), nl=False)
