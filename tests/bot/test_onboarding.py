from __future__ import annotations

import pytest

from bot.catalogue import load_catalogue
from bot.onboarding import JoinRequest, read_join_request

EN = load_catalogue("en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JOIN OAK3", JoinRequest("OAK3", explicit=True)),
        ("join oak3", JoinRequest("OAK3", explicit=True)),
        ("Join oak 3", JoinRequest("OAK3", explicit=True)),
        ("join oak-3!", JoinRequest("OAK3", explicit=True)),
        ("/start OAK3", JoinRequest("OAK3", explicit=True)),
        ("code willow1", JoinRequest("WILLOW1", explicit=True)),
        ("JOIN", JoinRequest("", explicit=True)),
        ("oak3", JoinRequest("OAK3", explicit=False)),
        ("WILLOW1", JoinRequest("WILLOW1", explicit=False)),
    ],
)
def test_join_requests_are_read(text, expected):
    assert read_join_request(text, EN) == expected


@pytest.mark.parametrize("text", ["hello", "", "  ", "2", "yes", "I live at oak lodge", "willow"])
def test_other_messages_are_not_join_requests(text):
    assert read_join_request(text, EN) is None
