from __future__ import annotations

import pytest

from bot.urns import InvalidURN, normalise_urn


@pytest.mark.parametrize(
    ("urn", "expected"),
    [
        ("tel:07700 900123", "tel:+447700900123"),
        ("tel:+44 7700 900123", "tel:+447700900123"),
        ("TEL:+447700900123", "tel:+447700900123"),
        ("tel:(020) 7946 0018", "tel:+442079460018"),
        ("telegram:123456789", "telegram:123456789"),
        ("console:ann", "console:ann"),
    ],
)
def test_addresses_have_one_spelling(urn, expected):
    assert normalise_urn(urn) == expected


@pytest.mark.parametrize(
    "urn", ["07700900123", "tel:", "tel:hello", "tel:12", "telegram:abc", "fax:123",
            "console:ann smith"],
)
def test_bad_addresses_are_refused_with_a_reason(urn):
    with pytest.raises(InvalidURN):
        normalise_urn(urn)
