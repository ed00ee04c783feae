"""``voicebank user add`` and ``voicebank token create``: dashboard accounts and API tokens."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from storage.database import transaction
from voicebank import accounts
from voicebank.cli_support import command_settings, opened

user_app = typer.Typer(help="Dashboard accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Tokens for the REST API.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The email address they sign in with.")],
    name: Annotated[str, typer.Option(help="Their name, as the dashboard shows it.")] = "",
    role: Annotated[str, typer.Option(help="admin, staff or mp.")] = "staff",
    person: Annotated[int | None, typer.Option(
        help="Their person number (voicebank person list), for staff and MPs.")] = None,
    password: Annotated[str | None, typer.Option(
        help="Leave out to have one made and shown once.")] = None,
) -> None:
    """Make a dashboard account. Without --password a strong one is made and shown once."""
    settings = command_settings()
    chosen = password or secrets.token_urlsafe(12)
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        try:
            user = accounts.add_user(session=session, email=email, name=name or email,
                                     role=role, password=chosen, now=voicebank.clock.now(),
                                     actor="cli", person_id=person)
        except accounts.AccountError as error:
            typer.echo(f"Cannot add the account: {error}.", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"Added {user.role} account {user.email}.")
    if password is None:
        typer.echo(f"Password: {chosen}  (shown once; they can sign in at "
                   f"{settings.public_url}/sign-in)")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The account the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Make an API token; it is shown once. Send it as: Authorization: Bearer TOKEN."""
    settings = command_settings()
    with opened(settings) as voicebank, transaction(voicebank.database) as session:
        try:
            token = accounts.create_token(session=session, email=email, label=label,
                                          now=voicebank.clock.now())
        except accounts.AccountError as error:
            typer.echo(f"Cannot make a token: {error}.", err=True)
            raise typer.Exit(1) from None
    typer.echo(token)
