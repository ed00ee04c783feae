"""Writing to a person the way their communication profile asks."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from bot.messages import Outgoing
from bot.urns import scheme_of
from storage.people import Profile
from storage.tables import Address, CommunicationProfile

_JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}


def strip_pictures(text: str) -> str:
    """Text without emoji, for someone whose screen reader reads "💡" out as "light bulb"."""
    kept = [
        ch for ch in text
        if ch not in _JOINERS
        and unicodedata.category(ch) != "So"
        and not ("\U0001f3fb" <= ch <= "\U0001f3ff")
    ]
    stripped = "".join(kept)
    return "\n".join(" ".join(line.split()) for line in stripped.split("\n"))


def adapt(outgoing: Outgoing, profile: Profile | CommunicationProfile) -> Outgoing:
    """The message as this person wants it: without emoji and pictures if they said so."""
    if profile.pictures:
        return outgoing
    options = tuple(replace(o, emoji="", picture=None) for o in outgoing.options)
    return replace(
        outgoing,
        text=strip_pictures(outgoing.text),
        options=options,
        picture=None,
        footer=strip_pictures(outgoing.footer),
    )


def choose_address(
    addresses: Sequence[Address], profile: CommunicationProfile
) -> Address | None:
    """Where to send a message the bot starts itself (a reminder, an invitation).

    The person's preferred channel first, then the address added most recently; never an
    address marked inactive (blocked, or unreachable).
    """
    active = [address for address in addresses if address.active]
    if not active:
        return None
    if profile.preferred_channel:
        preferred = [a for a in active if scheme_of(a.urn) == profile.preferred_channel]
        if preferred:
            return preferred[-1]
    return active[-1]
