"""The conversation core: gates, signed payloads, staleness, double taps, forms — independent of any surface."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import SubscribedBot
from chat import engine, payloads, state
from chat.context import Actor, Ctx
from funds.models import FundSubscription
from tests.chat.conftest import CoreDriver, make_driver
from tests.factories import ChatIdentityFactory, FundBotFactory, SubscribedBotFactory, UserFactory
from users.models import ChatIdentity, User, UserStatus

pytestmark = pytest.mark.django_db


def _signed(user: User, code: str, *args: object, age: timedelta = timedelta(0)) -> str:
    return payloads.encode(code, args, owner_id=user.pk, issued_at=timezone.now() - age, nonce=payloads.new_nonce())


def _screens(driver: CoreDriver):
    return [reply.screen for reply in driver.replies if reply.screen is not None]


def test_start_creates_an_account_bound_to_the_chat_identity(tg_driver: CoreDriver) -> None:
    reply = tg_driver.command("start")
    identity = ChatIdentity.objects.get(surface="telegram", external_user_id="5001")
    assert identity.user.status == UserStatus.ACTIVE
    assert "your account is ready" in reply.screen.text
    assert {"Browse funds & bots", "Add exchange key", "I have a link code"} <= {
        b.label for b in reply.screen.buttons()
    }


def test_second_start_welcomes_back_without_a_new_account(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    reply = tg_driver.command("start")
    assert reply.screen.text.startswith("Welcome back")
    assert User.objects.count() == 1


def test_new_users_wait_for_approval_when_the_operator_requires_it(tg_driver: CoreDriver, settings) -> None:
    settings.SIGNUP_REQUIRES_APPROVAL = True
    assert "operator approves" in tg_driver.command("start").screen.text
    assert "operator approves" in tg_driver.command("bots").screen.text
    assert "operator approves" in tg_driver.type("hello").screen.text


def test_blocked_users_get_one_clear_message_for_everything(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    menu_payload = tg_driver.button("« Menu").payload
    User.objects.update(status=UserStatus.BLOCKED)
    for reply in (tg_driver.command("bots"), tg_driver.type("hi"), tg_driver.press_payload(menu_payload),
                  tg_driver.command("start")):
        assert "Your account is blocked" in reply.screen.text
        assert reply.screen.rows == []


def test_anything_before_start_asks_to_start() -> None:
    driver = make_driver(user_id="777")
    assert "/start" in driver.command("bots").screen.text
    assert not User.objects.exists()


@pytest.mark.usefixtures("chat_state")
@pytest.mark.parametrize("junk", [None, "", "garbage", "m|x|y", "a" * 300, "m|zzzzzz|AAAAAAAA", 12345])
def test_malformed_or_unknown_payloads_get_a_short_message(junk: object) -> None:
    driver = make_driver(user_id="601")
    driver.command("start")
    reply = driver.press_payload(junk)
    assert reply.alert == engine.BAD_BUTTON


def test_an_edited_payload_fails_its_signature(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    user = User.objects.get()
    own = SubscribedBotFactory(user=user)
    other = SubscribedBotFactory()
    payload = _signed(user, "b", own.pk)
    forged = payload.replace(f"b|{own.pk}|", f"b|{other.pk}|")
    assert tg_driver.press_payload(forged).alert == engine.BAD_BUTTON


def test_a_button_drawn_for_someone_else_is_refused(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    stranger = UserFactory()
    assert tg_driver.press_payload(_signed(stranger, "m")).alert == engine.BAD_BUTTON


def test_another_users_bot_id_in_a_valid_payload_changes_nothing(tg_driver: CoreDriver) -> None:
    """Even a correctly signed payload (a bug, a leaked key) cannot reach another user's bot: the selector says no."""
    tg_driver.command("start")
    user = User.objects.get()
    victim_bot = SubscribedBotFactory(run_type="dry_run")
    for code, args in (("b", (victim_bot.pk,)), ("rt!", (victim_bot.pk, "simulation")), ("sp!", (victim_bot.pk, 1))):
        reply = tg_driver.press_payload(_signed(user, code, *args))
        assert reply.alert == "No such bot among yours."
    victim_bot.refresh_from_db()
    assert victim_bot.run_type == "dry_run"


def test_an_old_control_button_shows_the_fresh_screen_and_does_nothing(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    user = User.objects.get()
    bot = SubscribedBotFactory(user=user, run_type="dry_run")
    reply = tg_driver.press_payload(_signed(user, "rt!", bot.pk, "simulation", age=timedelta(minutes=11)))
    assert reply.alert == engine.STALE
    assert reply.screen.title == bot.bot.name and reply.edit
    bot.refresh_from_db()
    assert bot.run_type == "dry_run"


def test_a_double_tap_acts_once(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    fund = FundBotFactory().fund
    tg_driver.press_payload(_signed(User.objects.get(), "fc", fund.pk))
    tg_driver.press("Subscribe")
    yes = tg_driver.button("Yes, subscribe").payload
    first, second = tg_driver.press_payload(yes), tg_driver.press_payload(yes)
    assert "Subscribed" in first.screen.text
    assert second.alert == engine.TWICE
    assert FundSubscription.objects.count() == 1


def test_a_refused_action_can_be_retried_with_the_same_button(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    user = User.objects.get()
    bot = SubscribedBotFactory(user=user, state="running")
    payload = _signed(user, "rt!", bot.pk, "simulation")
    assert "Stop" in tg_driver.press_payload(payload).alert
    SubscribedBot.objects.filter(pk=bot.pk).update(state="stopped")
    assert "Run type: Simulation" in tg_driver.press_payload(payload).screen.text


def test_subscribing_to_a_fund_asks_for_confirmation_first(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    fund = FundBotFactory().fund
    tg_driver.press_payload(_signed(User.objects.get(), "fc", fund.pk))
    reply = tg_driver.press("Subscribe")
    assert reply.screen.title == f"Subscribe to {fund.name}?"
    assert not FundSubscription.objects.exists()


def test_an_invalid_typed_value_is_refused_with_the_reason_and_asked_again(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    tg_driver.press("Add e-mail")
    reply = tg_driver.type("not-an-email")
    assert "is not a valid e-mail address" in reply.screen.text
    assert User.objects.get().email == ""
    reply = tg_driver.type("alice@example.com")
    assert "E-mail saved." in reply.screen.text
    assert User.objects.get().email == "alice@example.com"


def test_cancel_leaves_a_form_at_any_step(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    tg_driver.press("Add e-mail")
    assert "Cancelled" in tg_driver.command("cancel").screen.text
    assert "didn't understand" in tg_driver.type("alice@example.com").screen.text
    assert User.objects.get().email == ""


def test_an_expired_step_is_not_used(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    tg_driver.press("Add e-mail")
    state.form_state_clear(tg_driver.actor.key)  # what the Redis expiry does
    reply = tg_driver.type("alice@example.com")
    assert "didn't understand" in reply.screen.text
    assert User.objects.get().email == ""


def test_a_late_message_after_an_expired_secret_step_is_deleted(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    ctx = engine.session_open(tg_driver.actor)
    engine.ask(ctx, "key_add", {"exchange": "binanceusdm"})
    tg_driver.type("Main")
    assert engine.input_is_sensitive(engine.session_open(tg_driver.actor))
    state.form_state_clear(tg_driver.actor.key)
    assert engine.input_is_sensitive(engine.session_open(tg_driver.actor))
    reply = tg_driver.type("my-api-key")
    assert reply.delete_input and "expired" in reply.screen.text


def test_four_kilobytes_of_junk_get_a_hint_and_change_nothing(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    before = list(User.objects.values())
    junk = "ж%$<b>" * 700
    reply = tg_driver.type(junk)
    assert "didn't understand" in reply.screen.text and junk[:20] not in reply.screen.text
    tg_driver.press("« Menu")
    tg_driver.press("Account")
    tg_driver.press("Add e-mail")
    assert "too long" in tg_driver.type(junk).screen.text
    assert list(User.objects.values()) == before


def test_unknown_commands_get_a_hint(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    assert "I don't know /frobnicate" in tg_driver.command("frobnicate").screen.text


def test_group_chats_answer_read_only_commands_and_refuse_control(chat_state) -> None:
    private = make_driver(user_id="900")
    private.command("start")
    user = User.objects.get()
    bot = SubscribedBotFactory(user=user)
    group = make_driver(user_id="900", chat_id="-100", private=False)
    assert "Your bots" in group.command("help").screen.text
    assert bot.bot.name in group.command("bots").screen.text
    assert group.press_payload(_signed(user, "rt!", bot.pk, "simulation")).alert == engine.PRIVATE_ONLY
    assert group.type("hello").is_empty
    bot.refresh_from_db()
    assert bot.run_type == "dry_run"


def test_every_screen_offers_a_way_on(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    for label in ("« Menu", "Account", "Time zone", "« Account", "« Menu", "Funds & bots", "Funds", "« Funds & bots",
                  "Automated bots", "« Funds & bots", "« Menu", "My bots", "« Menu", "Help"):
        tg_driver.press(label)
    tg_driver.command("cancel")
    tg_driver.command("nonsense")
    tg_driver.type("hello")
    assert all(screen.rows for screen in _screens(tg_driver))


def test_link_code_joins_a_slack_identity_to_the_telegram_account(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    tg_driver.command("account")
    code = tg_driver.press("Link another chat").screen.text.split("link code: ")[1].split()[0]
    slack = make_driver(surface="slack", user_id="U1", team_id="T1")
    reply = slack.command("link", code)
    assert "Linked" in reply.screen.text
    assert User.objects.count() == 1
    assert ChatIdentity.objects.get(surface="slack").user == User.objects.get()


def test_a_replayed_link_code_is_refused_and_changes_nothing(tg_driver: CoreDriver) -> None:
    tg_driver.command("start")
    tg_driver.command("account")
    code = tg_driver.press("Link another chat").screen.text.split("link code: ")[1].split()[0]
    make_driver(surface="slack", user_id="U1", team_id="T1").command("link", code)
    intruder = make_driver(surface="slack", user_id="U2", team_id="T1")
    intruder.command("start")
    intruder_user = ChatIdentity.objects.get(external_user_id="U2").user
    reply = intruder.command("link", code)
    assert "wrong, already used or expired" in reply.screen.text
    assert ChatIdentity.objects.get(external_user_id="U2").user == intruder_user


def test_payloads_fit_telegram_callback_data_with_large_ids() -> None:
    big = 10**11
    ctx = Ctx(actor=Actor(surface="telegram", external_user_id="1"))
    cases = (("sp!", (big, 1)), ("lv!", (big, big)), ("sv", (big, 99, "-12345.123456")),
             ("tzs", ("America/Argentina/Buenos_Aires",)))
    for code, args in cases:
        assert len(("a:" + ctx.button("x", code, *args).payload).encode()) <= 64


def test_identity_factory_identities_are_recognised(chat_state) -> None:
    identity = ChatIdentityFactory()
    driver = make_driver(user_id=identity.external_user_id)
    assert driver.command("start").screen.text.startswith("Welcome back")


def test_order_buttons_reach_only_the_users_own_orders(tg_driver: CoreDriver) -> None:
    from tests.factories import BotRunFactory, OrderFactory

    tg_driver.command("start")
    user = User.objects.get()
    own = OrderFactory(run=BotRunFactory(subscribed_bot=SubscribedBotFactory(user=user), run_type="dry_run"))
    other = OrderFactory()
    assert tg_driver.press_payload(_signed(user, "ors", other.pk)).alert == "No such order among yours."
    screen = tg_driver.press_payload(_signed(user, "or", own.pk)).screen
    assert screen.title == "Order" and "Client order id" in screen.text
    assert "Only live orders" in tg_driver.press("Re-sync").alert


def test_a_manual_bot_card_has_no_start_button(tg_driver: CoreDriver) -> None:
    from tests.factories import BotFactory

    tg_driver.command("start")
    user = User.objects.get()
    bot = SubscribedBotFactory(user=user, bot=BotFactory(kind="manual", strategy="ttadak"))
    labels = {b.label for b in tg_driver.press_payload(_signed(user, "b", bot.pk)).screen.buttons()}
    assert "START" not in labels and "SETTINGS" in labels


def test_forms_and_start_cannot_be_used_from_a_group(chat_state) -> None:
    private = make_driver(user_id="910")
    private.command("start")
    user = User.objects.get()
    bot = SubscribedBotFactory(user=user, run_type="dry_run")
    group = make_driver(user_id="910", chat_id="-200", private=False)
    assert group.press_payload(_signed(user, "kae", "binanceusdm")).alert == engine.PRIVATE_ONLY
    assert not engine.input_is_sensitive(engine.session_open(private.actor))
    assert group.press_payload(_signed(user, "go", bot.pk)).alert == engine.PRIVATE_ONLY
    bot.refresh_from_db()
    assert bot.state == "stopped"
