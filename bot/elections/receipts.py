"""Ballot receipt codes: random, short, and easy to read out, copy and type.

A code is eight characters shown as ``XXXX-XXXX``. The alphabet leaves out the
characters people mix up: no 0 or O, and no 1, I or L. With 31 characters that is
31**8, about 850 billion codes, so two ballots in one election will in practice never
draw the same one (the ballot table's key refuses it if they ever do).

Because 0 and O are both left out, a typed 0 or O cannot be mapped onto either with
confidence, and the same goes for 1, I and L. ``normalise_receipt`` therefore keeps them
as typed: such a code matches no ballot, and the bot can ask the person to look again,
rather than quietly matching somebody else's receipt.
"""

from __future__ import annotations

import re
import secrets

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 8
_GROUP = RECEIPT_LENGTH // 2
# Spaces, full stops, underscores, and every dash a phone's keyboard or autocorrect may
# put in: hyphens, the figure, en and em dashes, the horizontal bar and the minus sign.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212_.]+")


def new_receipt() -> str:
    """A fresh receipt code, such as ``7KQM-X3PD``."""
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return _dashed(code)


def normalise_receipt(text: str) -> str:
    """A receipt code as a person typed it, in the form it is stored and shown.

    Upper case, with spaces, dashes, dots and underscores removed; eight characters come back as
    ``XXXX-XXXX``. Anything else comes back as the cleaned characters, which match no
    receipt. Look-alike characters are not changed (see the module's docstring).
    """
    cleaned = _SEPARATORS.sub("", text).upper()
    return _dashed(cleaned) if len(cleaned) == RECEIPT_LENGTH else cleaned


def is_receipt(text: str) -> bool:
    """Whether ``text`` is a receipt code in its stored form, from the receipt alphabet."""
    return (
        len(text) == RECEIPT_LENGTH + 1
        and text[_GROUP] == "-"
        and all(ch in RECEIPT_ALPHABET for ch in text[:_GROUP] + text[_GROUP + 1:])
    )


def _dashed(code: str) -> str:
    return f"{code[:_GROUP]}-{code[_GROUP:]}"
