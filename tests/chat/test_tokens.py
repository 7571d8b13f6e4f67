"""Account → API tokens in the core: create (shown once, ephemeral), list, revoke with confirmation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat import engine, payloads
from chat.context import Actor
from tests.chat.conftest import CoreDriver
from tests.factories import UserFactory
from users.models import ApiToken, ChatIdentity
from users.selectors import user_get_by_api_token
from users.services import api_token_create

pytestmark = pytest.mark.django_db


def _create(driver: CoreDriver, name: str = "laptop script") -> str:
    driver.command("start")
    driver.command("account")
    driver.press("API tokens")
    driver.press("Create token")
    reply = driver.type(name)
    assert reply.screen.ephemeral and reply.screen.title == "Your new API token"
    return reply.screen.text.split("\n", 1)[0]


def test_a_created_token_is_shown_once_and_works_with_the_api(tg_driver: CoreDriver) -> None:
    plaintext = _create(tg_driver)
    assert "I delete this message" in tg_driver.text and tg_driver.button("Done — I copied it")

    reply = tg_driver.press("Done — I copied it")
    assert reply.delete_origin and not reply.screen.ephemeral
    token = ApiToken.objects.get()
    assert "Token “laptop script” is ready to use." in tg_driver.text
    assert f"• laptop script — {token.prefix}… — created" in tg_driver.text and "last used never" in tg_driver.text
    assert plaintext not in tg_driver.text
    assert user_get_by_api_token(token=plaintext) == ChatIdentity.objects.get(external_user_id="5001").user


def test_the_list_shows_when_a_token_was_last_used(tg_driver: CoreDriver) -> None:
    plaintext = _create(tg_driver)
    user_get_by_api_token(token=plaintext)
    tg_driver.press("Done — I copied it")
    assert "last used never" not in tg_driver.text and "last used " in tg_driver.text


def test_revoking_asks_first_and_then_the_token_stops_working(tg_driver: CoreDriver) -> None:
    plaintext = _create(tg_driver)
    tg_driver.press("Done — I copied it")
    tg_driver.press("Revoke laptop script")
    assert tg_driver.screen.title == "Revoke token laptop script?" and user_get_by_api_token(token=plaintext)
    tg_driver.press("Yes, revoke")
    assert "Token “laptop script” revoked." in tg_driver.text and "No API tokens yet." in tg_driver.text
    assert user_get_by_api_token(token=plaintext) is None


def test_another_persons_token_cannot_be_revoked(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    me = ChatIdentity.objects.get(external_user_id="5001").user
    theirs, plaintext = api_token_create(user=UserFactory(), name="theirs")
    for code in ("atr", "atr!"):
        forged = payloads.encode(code, (theirs.pk,), owner_id=me.pk, issued_at=datetime.now(UTC),
                                 nonce=payloads.new_nonce())
        assert tg_driver.press_payload(forged).alert == "No such API token."
    assert user_get_by_api_token(token=plaintext) is not None


def test_tokens_are_never_listed_in_a_group_chat(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    user = ChatIdentity.objects.get(external_user_id="5001").user
    api_token_create(user=user, name="secret-ish")
    group = Actor(surface="telegram", external_user_id="5001", chat_id="-100", private=False)
    payload = payloads.encode("atl", (), owner_id=user.pk, issued_at=datetime.now(UTC), nonce=payloads.new_nonce())
    reply = engine.handle_action(engine.session_open(group), payload)
    assert reply.alert == engine.PRIVATE_ONLY and reply.screen is None
