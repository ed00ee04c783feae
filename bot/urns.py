"""Addresses as URNs: ``tel:+447700900123``, ``telegram:123456789``, ``console:ann``."""

from __future__ import annotations

import re

import phonenumbers

SCHEMES = ("tel", "telegram", "console")
_TELEGRAM_ID = re.compile(r"^-?\d{1,20}$")
_CONSOLE_NAME = re.compile(r"^[\w.@+-]{1,64}$")


class InvalidURN(ValueError):
    """An address that cannot be a Voicebank URN; the message says why."""


def normalise_urn(urn: str, *, default_region: str = "GB") -> str:
    """Return the one canonical spelling of an address, or raise :class:`InvalidURN`.

    Phone numbers become E.164 (``tel:07700 900123`` is ``tel:+447700900123``), so a
    person who writes their number two ways is still one person.
    """
    scheme, sep, path = urn.strip().partition(":")
    scheme = scheme.lower()
    if not sep or not path:
        raise InvalidURN(f"{urn!r} is not an address: write it like tel:+447700900123")
    if scheme == "tel":
        try:
            number = phonenumbers.parse(path, default_region)
        except phonenumbers.NumberParseException as error:
            raise InvalidURN(f"{path!r} is not a phone number ({error})") from error
        if not phonenumbers.is_possible_number(number):
            raise InvalidURN(f"{path!r} is not a possible phone number")
        return "tel:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if scheme == "telegram":
        if not _TELEGRAM_ID.match(path):
            raise InvalidURN(f"{path!r} is not a Telegram chat id")
        return f"telegram:{path}"
    if scheme == "console":
        if not _CONSOLE_NAME.match(path):
            raise InvalidURN(f"{path!r} is not a console name (letters, digits, . @ + - _)")
        return f"console:{path}"
    raise InvalidURN(f"unknown address scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


def scheme_of(urn: str) -> str:
    return urn.partition(":")[0]
