"""Exchange keys: validated with the exchange (the emulator) before saving, stored encrypted, write-only."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from bots.models import BotState, OrderStatus, RunType
from core.crypto import decrypt_text
from core.errors import Conflict, NotFound, TemporaryError, ValidationError
from emulators.exchange import EmulatorServer
from exchanges.models import ExchangeSetting, KeyValidationStatus
from exchanges.selectors import exchange_setting_list_for_user
from exchanges.services import (
    exchange_credentials_get,
    exchange_setting_check,
    exchange_setting_create,
    exchange_setting_delete,
)
from tests.factories import OrderFactory, SubscribedBotFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("exchange_api_base")]


def create(user, key: dict, name: str = "main", **changes: str) -> ExchangeSetting:  # noqa: ANN001
    values = {"api_key": key["api_key"], "api_secret": key["secret"], **changes}
    return exchange_setting_create(user=user, name=name, exchange="binanceusdm", **values)


def test_valid_key_is_saved_encrypted_with_permissions_and_a_masked_hint(exchange_emulator: EmulatorServer) -> None:
    key = exchange_emulator.control.create_key(balances={"USDT": "2500"})
    setting = create(UserFactory(), key)
    assert setting.validation_status == KeyValidationStatus.VALID
    assert (setting.can_trade, setting.can_trade_futures, setting.can_withdraw) == (True, True, False)
    assert "2500 USDT" in setting.validation_message
    assert setting.api_key_hint == f"{key['api_key'][:4]}…{key['api_key'][-4:]}"
    credentials = exchange_credentials_get(exchange_setting=setting)
    assert (credentials.api_key, credentials.api_secret) == (key["api_key"], key["secret"])
    assert key["secret"] not in repr(credentials) and key["api_key"] not in str(credentials)


def test_raw_database_row_holds_neither_key_nor_secret_in_plaintext(exchange_emulator: EmulatorServer) -> None:
    key = exchange_emulator.control.create_key()
    setting = create(UserFactory(), key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM exchange_setting WHERE id = %s", [setting.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert key["api_key"] not in row and key["secret"] not in row
    assert key["api_key"][:12] not in row and key["secret"][-12:] not in row


@pytest.mark.parametrize(("case", "field", "phrase"), [
    ("wrong_secret", "api_secret", "secret does not match"),
    ("unknown_key", "api_key", "key is wrong or deleted"),
    ("ip_restricted", "api_key", "IP addresses"),
    ("no_futures", "api_key", "cannot trade futures"),
])
def test_refused_key_gets_a_clear_message_and_nothing_is_saved(exchange_emulator: EmulatorServer, case: str,
                                                                field: str, phrase: str) -> None:
    control = exchange_emulator.control
    key = control.create_key(futures=case != "no_futures",
                             ip_allowlist=["10.9.8.7"] if case == "ip_restricted" else None)
    changes = {"wrong_secret": {"api_secret": "0" * 64}, "unknown_key": {"api_key": "a" * 64}}.get(case, {})
    with pytest.raises(ValidationError) as info:
        create(UserFactory(), key, **changes)
    assert phrase in info.value.message and info.value.field == field
    assert ExchangeSetting.objects.count() == 0


def test_key_that_can_withdraw_is_flagged_loudly(exchange_emulator: EmulatorServer) -> None:
    setting = create(UserFactory(), exchange_emulator.control.create_key(withdrawals=True))
    assert setting.can_withdraw is True and setting.validation_status == KeyValidationStatus.VALID
    assert "WARNING: this key can WITHDRAW funds" in setting.validation_message


def test_unreachable_exchange_saves_nothing(exchange_emulator: EmulatorServer) -> None:
    key = exchange_emulator.control.create_key()
    exchange_emulator.control.add_fault("server_error", path="/sapi/v1/account/apiRestrictions")
    with pytest.raises(TemporaryError):
        create(UserFactory(), key)
    assert ExchangeSetting.objects.count() == 0


def test_junk_input_and_duplicates_are_refused_before_calling_the_exchange(exchange_emulator: EmulatorServer) -> None:
    user = UserFactory()
    key = exchange_emulator.control.create_key()
    with pytest.raises(ValidationError) as info:
        create(user, key, api_key="has spaces in it")
    assert info.value.field == "api_key"
    with pytest.raises(ValidationError) as info:
        exchange_setting_create(user=user, name="x", exchange="kraken", api_key=key["api_key"],
                                api_secret=key["secret"])
    assert info.value.field == "exchange"
    create(user, key)
    with pytest.raises(ValidationError) as info:
        create(user, key, name="again")
    assert "already saved as 'main'" in info.value.message
    with pytest.raises(ValidationError) as info:
        create(user, exchange_emulator.control.create_key())
    assert info.value.field == "name"
    assert exchange_emulator.exchange.requests(path="/sapi/v1/account/apiRestrictions").__len__() == 1


def test_check_records_a_revoked_permission(exchange_emulator: EmulatorServer) -> None:
    user = UserFactory()
    key = exchange_emulator.control.create_key()
    setting = create(user, key)
    exchange_emulator.exchange.keys[key["api_key"]].enable_futures = False
    check = exchange_setting_check(user=user, exchange_setting_id=setting.pk)
    setting.refresh_from_db()
    assert check.valid is False and setting.validation_status == KeyValidationStatus.INVALID
    assert setting.can_trade_futures is False and "Enable Futures" in setting.validation_message
    with pytest.raises(NotFound):
        exchange_setting_check(user=UserFactory(), exchange_setting_id=setting.pk)


def test_list_is_per_user_and_delete_refuses_while_live_bots_or_open_orders_use_the_key(
    exchange_emulator: EmulatorServer
) -> None:
    user, other = UserFactory(), UserFactory()
    setting = create(user, exchange_emulator.control.create_key())
    create(other, exchange_emulator.control.create_key())
    assert list(exchange_setting_list_for_user(user=user)) == [setting]
    with pytest.raises(NotFound):
        exchange_setting_delete(user=other, exchange_setting_id=setting.pk)

    bot = SubscribedBotFactory(user=user, exchange_setting=setting, run_type=RunType.LIVE, state=BotState.RUNNING)
    with pytest.raises(Conflict, match="Stop the live bots"):
        exchange_setting_delete(user=user, exchange_setting_id=setting.pk)
    bot.state = BotState.STOPPED
    bot.save()
    order = OrderFactory(run__subscribed_bot=bot, exchange_setting=setting, status=OrderStatus.OPEN)
    with pytest.raises(Conflict, match="not final"):
        exchange_setting_delete(user=user, exchange_setting_id=setting.pk)
    order.status = OrderStatus.CLOSED
    order.save()
    exchange_setting_delete(user=user, exchange_setting_id=setting.pk)
    assert not ExchangeSetting.objects.filter(pk=setting.pk).exists()


def test_rotate_encryption_keys_re_encrypts_every_row_with_the_newest_key(exchange_emulator: EmulatorServer,
                                                                          settings) -> None:  # noqa: ANN001
    old_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    key = exchange_emulator.control.create_key()
    setting = create(UserFactory(), key)
    old_ciphertext = setting.api_secret_encrypted

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    # Rows encrypted with the old key still decrypt while it is listed.
    assert exchange_credentials_get(exchange_setting=setting).api_secret == key["secret"]

    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "re-encrypted 1" in out.getvalue()
    setting.refresh_from_db()
    assert setting.api_secret_encrypted != old_ciphertext
    assert Fernet(new_key.encode()).decrypt(setting.api_secret_encrypted.encode()).decode() == key["secret"]
    assert Fernet(new_key.encode()).decrypt(setting.api_key_encrypted.encode()).decode() == key["api_key"]
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    assert decrypt_text(setting.api_key_encrypted) == key["api_key"]


def test_replacing_the_key_pair_validates_it_and_bumps_the_key_version(exchange_emulator: EmulatorServer) -> None:
    from exchanges.services import exchange_setting_keys_replace

    user = UserFactory()
    setting = create(user, exchange_emulator.control.create_key())
    with pytest.raises(ValidationError):
        exchange_setting_keys_replace(user=user, exchange_setting_id=setting.pk, api_key="b" * 64,
                                      api_secret="c" * 64)
    fresh = exchange_emulator.control.create_key()
    replaced = exchange_setting_keys_replace(user=user, exchange_setting_id=setting.pk, api_key=fresh["api_key"],
                                             api_secret=fresh["secret"])
    assert replaced.key_version == 2 and exchange_credentials_get(exchange_setting=replaced).api_key == fresh["api_key"]
