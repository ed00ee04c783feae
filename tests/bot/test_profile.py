from __future__ import annotations

from bot.messages import Option, Outgoing
from bot.profile import adapt, choose_address, strip_pictures
from storage.tables import Address, CommunicationProfile

QUESTION = Outgoing(
    text="What is your idea? 💡\nWrite it in one message. ✍🏽",
    options=(Option(1, "Food", "food", emoji="🍎", picture="food.png"),),
    picture="poster.png",
    footer="Send the number. 🔢",
)


def test_strip_pictures_keeps_the_words():
    assert strip_pictures("Welcome back! 😀 You will get messages again.") == (
        "Welcome back! You will get messages again."
    )
    assert strip_pictures("Hi 👋\nThumbs 👍🏾 up ❤️") == "Hi\nThumbs up"


def test_a_person_who_wants_pictures_gets_the_message_as_it_is():
    assert adapt(QUESTION, CommunicationProfile(person_id=1)) == QUESTION


def test_a_person_who_does_not_want_pictures_gets_words_only():
    plain = adapt(QUESTION, CommunicationProfile(person_id=1, pictures=False))
    assert plain.text == "What is your idea?\nWrite it in one message."
    assert plain.options == (Option(1, "Food", "food"),)
    assert plain.picture is None
    assert plain.footer == "Send the number."


def addresses(*urns: str, inactive: tuple[str, ...] = ()) -> list[Address]:
    return [Address(id=i, urn=urn, person_id=1, active=urn not in inactive)
            for i, urn in enumerate(urns)]


def test_the_bot_writes_first_on_the_preferred_channel():
    both = addresses("tel:+447700900001", "telegram:42")
    assert choose_address(both, CommunicationProfile(person_id=1, preferred_channel="tel")).urn == (
        "tel:+447700900001"
    )
    assert choose_address(both, CommunicationProfile(person_id=1)).urn == "telegram:42"


def test_an_inactive_address_is_never_chosen():
    both = addresses("tel:+447700900001", "telegram:42", inactive=("telegram:42",))
    profile = CommunicationProfile(person_id=1, preferred_channel="telegram")
    assert choose_address(both, profile).urn == "tel:+447700900001"
    assert choose_address(addresses("telegram:42", inactive=("telegram:42",)), profile) is None
