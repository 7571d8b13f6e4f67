"""Ttadak press-to-exchange latency: a Telegram callback → aiogram → game engine → ccxt → both orders at the exchange.

The whole chain runs for real, `--games` times (default 500, after `--warmup` unmeasured games):

    Telegram emulator (Bot API, in this process) hands the BUY GAME / SELL GAME callback to the bot's
    getUpdates long poll → the platform's aiogram Dispatcher → ttadak.telegram (its game-press
    middleware) → GameEngine.press: plan, both legs signed by ccxt and parked on warm wire connections,
    ONE database transaction commits the game and both orders "submitting", then both prepared requests
    are written back to back → the exchange emulator, in a SEPARATE process, records each arrival.

Press: `time.perf_counter_ns()` taken in the Telegram emulator the moment its getUpdates handler
returns the batch holding the callback query (the update is handed over; serialising and sending it
to the bot, aiogram's parsing and dispatch are all inside the measurement). Arrival: the exchange
emulator's `perf_ns` for the order request — the kernel's receive timestamp of its first bytes on the
emulator's socket (SO_TIMESTAMPNS), as the exchange's network edge would stamp them; when the emulator
then read them (its own scheduling on the shared CPUs and its work on the other leg) is printed too.
Both are CLOCK_MONOTONIC, one clock for every process on the machine. Figures: press → each leg, press → the
later leg ("both orders"), and the skew between the legs. Each game is then closed at market (not
measured) so the next press can start a new one.

The emulator runs under SCHED_BATCH (`--emulator-preempts` turns that off): it still shares the two CPUs
with the bot, but the first leg's bytes waking it do not preempt the bot before it writes the second — an
exchange on another host cannot do that, and on this machine it made one press in ten leave its legs
~0.6 ms apart (the bot's own stamps show both writes ~10 µs apart once it runs again).

The floor, in the same run: two bare ccxt `create_order` calls with asyncio.gather against the same
emulator (warm client, no limiter), start → later arrival — paced like the presses (a pair every
`--interval` s: the bound that applies to them, reported as `floor_p50_ms`) and back to back (hot caches).

The database is a throwaway one created for the run (test database of DATABASE_URL: SQLite file with
WAL, or PostgreSQL) — persisting the intents is inside the measured path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from typing import Any

TELEGRAM_USER = 4242
RESET_EVERY = 50  # games between fresh starts of the exchange emulator (see _fresh_exchange)


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--games", type=int, default=500, help="measured games (default 500)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured games first (default 20)")
    parser.add_argument("--floor-rounds", type=int, default=100,
                        help="bare ccxt pairs for each floor (default 100): paced like the presses, and back to back")
    parser.add_argument("--emulator-preempts", action="store_true",
                        help="run the exchange emulator under the normal policy: woken by the first leg, it may "
                             "preempt the bot before the second is written — a cost of sharing two CPUs with the "
                             "exchange, which a remote exchange cannot impose (default: SCHED_BATCH, it does not)")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds from one press to the next at least (default 0.5): a game costs ~19 units of "
                             "the burst limiter's request weight (ccxt's cost table: 4 per order) of 2400 a minute; "
                             "faster, the limiter would make presses wait")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _stamping_emulator() -> Any:
    from emulators.telegram import TelegramEmulator

    class StampingEmulator(TelegramEmulator):
        """Records when each callback query is handed to the bot (the press), and lets the harness wait for
        one press's answer alone: waiting on the emulator's every change (`wait_for`) would have the harness
        wake and run in the middle of the measured press, on the bot's loop — work a real Telegram never
        puts there."""

        def __init__(self) -> None:
            super().__init__()
            self.pressed_ns: dict[str, int] = {}
            self.answers: dict[str, asyncio.Future] = {}

        def answer_of(self, query_id: str) -> asyncio.Future:
            return self.answers.setdefault(query_id, asyncio.get_running_loop().create_future())

        async def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
            answered = await super()._m_answerCallbackQuery(params, files)
            future = self.answer_of(str(params.get("callback_query_id")))
            if not future.done():
                future.set_result(params)
            return answered

        async def _m_getUpdates(self, params: dict, files: dict) -> list[dict[str, Any]]:
            updates = await super()._m_getUpdates(params, files)
            now = time.perf_counter_ns()
            for update in updates:
                query = update.get("callback_query")
                if query is not None:
                    self.pressed_ns.setdefault(query["id"], now)
            return updates

    return StampingEmulator()


def _setup_player(base_url: str, api_key: str, secret: str) -> Any:
    from django.utils import timezone

    from bots.models import Bot, BotKind, RunType, SubscribedBot
    from core.crypto import encrypt_text, mask_secret
    from exchanges.models import ExchangeSetting, KeyValidationStatus
    from ttadak.services.activation import ttadak_start
    from users.models import ChatIdentity, User, UserStatus

    user = User.objects.create(username="bench-ttadak", status=UserStatus.ACTIVE,
                               live_trading_confirmed_at=timezone.now())
    ChatIdentity.objects.create(user=user, surface="telegram", external_user_id=str(TELEGRAM_USER),
                                chat_id=str(TELEGRAM_USER))
    setting = ExchangeSetting.objects.create(
        user=user, name="bench", exchange="binanceusdm", api_key_encrypted=encrypt_text(api_key),
        api_secret_encrypted=encrypt_text(secret), api_key_hint=mask_secret(api_key),
        validation_status=KeyValidationStatus.VALID, can_trade=True, can_trade_futures=True, can_withdraw=False)
    bot = Bot.objects.create(name="Ttadak", slug="ttadak-bench", kind=BotKind.MANUAL, strategy="ttadak",
                             default_setting={"symbol": "BTC/USDT:USDT", "leverage": 20})
    subscribed_bot = SubscribedBot.objects.create(
        user=user, bot=bot, run_type=RunType.LIVE, exchange_setting=setting, subscription_start=timezone.now(),
        user_bot_setting={"order_amount": 0.002, "target_yield_pct": 10, "stop_loss_pct": 20, "max_duration_s": 60})
    return ttadak_start(user=user, subscribed_bot_id=subscribed_bot.pk)


async def _floor(server: Any, rounds: int, *, pause: float) -> list[float]:
    """Two bare ccxt create_order calls with asyncio.gather, start → later arrival, `pause` s between pairs.

    A fresh key (account) every 100 pairs keeps each under the exchange's 300 orders per 10 s."""
    from emulators.exchange.testing import ccxt_binanceusdm

    figures: list[float] = []
    for batch in range(0, rounds, 100):
        key = server.control.create_key(balances={"USDT": "100000000"})
        client = ccxt_binanceusdm(server.base_url, key["api_key"], key["secret"])
        starts: list[tuple[int, str, str]] = []
        try:
            await client.load_markets()
            await asyncio.gather(client.fetch_ticker("BTC/USDT:USDT"), client.fetch_ticker("BTC/USDT:USDT"))
            for n in range(batch, min(rounds, batch + 100)):
                ids = (f"floor{n}b", f"floor{n}s")
                began = time.perf_counter_ns()
                await asyncio.gather(
                    client.create_order("BTC/USDT:USDT", "market", "buy", 0.002, None, {"newClientOrderId": ids[0]}),
                    client.create_order("BTC/USDT:USDT", "market", "sell", 0.002, None,
                                        {"newClientOrderId": ids[1]}))
                starts.append((began, *ids))
                await asyncio.sleep(pause)
        finally:
            await client.close()
        arrivals = _arrivals(server.control, key["api_key"])
        figures += [(max(arrivals[a], arrivals[b]) - began) / 1e6 for began, a, b in starts]
    return figures


def _arrivals(control: Any, api_key: str, *, done: bool = False) -> dict[str, Any]:
    """client order id → the emulator's arrival stamp (with `done`: (arrival, read, end of its handling))."""
    rows = control.requests(path="/fapi/v1/order", api_key=api_key)
    return {r["form"]["newClientOrderId"]: (r["perf_ns"], r["read_perf_ns"], r["done_perf_ns"]) if done
            else r["perf_ns"] for r in rows if r["method"] == "POST" and r["form"].get("newClientOrderId")}


def _fresh_exchange(server: Any, key: dict[str, str]) -> None:
    """Start the emulator over with the same key: its bookkeeping walks every order it ever took on each
    request, so a long run would slow the exchange side down (the games are flat between presses)."""
    server.control.reset()
    server.control.create_key(api_key=key["api_key"], secret=key["secret"], balances={"USDT": "100000000"})
    server.control.set_price("BTCUSDT", "60000")


async def _play(args: argparse.Namespace, server: Any, key: dict[str, str]) -> dict[str, Any]:
    from asgiref.sync import sync_to_async

    from chat.telegram import app as telegram_app
    from ttadak.engine import game_engine
    from ttadak.models import Game, GameState

    subscribed_bot = await sync_to_async(_setup_player)(server.base_url, key["api_key"], key["secret"])
    emulator = _stamping_emulator()
    await emulator.start()
    bot = telegram_app.build_bot(token=emulator.token, api_base=emulator.base_url)
    dispatcher = telegram_app.build_dispatcher()
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=30))
    user = emulator.user(TELEGRAM_USER, username="bench")
    presses: list[tuple[str, int]] = []
    arrivals: dict[str, tuple[int, int]] = {}
    try:
        await emulator.wait_for(lambda: emulator.calls_of("getMe"))
        engine = game_engine()
        await engine.warm(subscribed_bot.pk)
        user.send("/ttadak")
        panel = await emulator.wait_for(lambda: any(m.from_bot and m.buttons for m in emulator.chat(TELEGRAM_USER))
                                        and emulator.last_message(TELEGRAM_USER))
        used: set[str] = set()
        last_game = 0
        total = args.warmup + args.games
        for n in range(total):
            next_press = time.monotonic() + args.interval
            label = "BUY GAME" if n % 2 == 0 else "SELL GAME"
            button = await emulator.wait_for(
                lambda label=label: (b := _fresh(emulator, panel.message_id, label, used)) and b, timeout=30)
            used.add(button)
            query_id = user.press_data(emulator.messages[(TELEGRAM_USER, panel.message_id)], button)
            # Wait for the bot's answer to the press without touching the database meanwhile: polling it
            # here would queue on the one thread the bot's own database work runs on.
            answer = await asyncio.wait_for(emulator.answer_of(query_id), 30)
            game = await _next_game(last_game, Game)
            if "sent" not in str(answer.get("text")):
                raise RuntimeError(f"press {n} was not played: {answer.get('text')}")
            last_game = game.pk
            presses.append((query_id, game.pk))
            game = await _wait_state(game.pk, Game, (GameState.OPEN, GameState.FAILED, GameState.ATTENTION))
            if game.state != GameState.OPEN:
                raise RuntimeError(f"game {game.pk} did not go in play: {game.state} {game.message}")
            await engine.close_now(game.pk)
            await _wait_state(game.pk, Game, (GameState.FINISHED,))
            # The emulator shares the bot's process: keep its records from growing (the garbage collector
            # would walk them during presses — the harness's cost, not the bot's).
            emulator.calls.clear()
            emulator.callback_answers.clear()
            emulator.answers.clear()
            if n % RESET_EVERY == RESET_EVERY - 1:
                arrivals.update(_arrivals(server.control, key["api_key"], done=True))
                _fresh_exchange(server, key)
            await asyncio.sleep(max(0.0, next_press - time.monotonic()))
        timings = await sync_to_async(lambda: {g.pk: (g.entry_order.client_order_id, g.exit_order.client_order_id,
                                                      g.timings) for g in Game.objects.select_related(
            "entry_order", "exit_order")})()
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, RuntimeError):
            await asyncio.wait_for(polling, 30)
        await dispatcher.storage.close()
        await bot.session.close()
        await emulator.stop()
    arrivals.update(_arrivals(server.control, key["api_key"], done=True))
    rows = []
    for query_id, game_id in presses[args.warmup:]:
        entry_cid, exit_cid, game_timings = timings[game_id]
        pressed = emulator.pressed_ns[query_id]
        (entry_at, entry_read, entry_done), (exit_at, exit_read, exit_done) = arrivals[entry_cid], arrivals[exit_cid]
        entry, exit_ = (entry_at - pressed) / 1e6, (exit_at - pressed) / 1e6
        read_entry, read_exit = (entry_read - pressed) / 1e6, (exit_read - pressed) / 1e6
        first_busy = (entry_done - entry_read) if entry_read <= exit_read else (exit_done - exit_read)
        stamp = {name: (game_timings[f"{name}_ns"] - pressed) / 1e6
                 for name in ("received", "engine", "parked", "persisted", "written")}
        rows.append({**stamp, "entry": entry, "exit": exit_, "both": max(entry, exit_), "skew": abs(entry - exit_),
                     "read": max(read_entry, read_exit), "read_skew": abs(read_entry - read_exit),
                     "emulator": first_busy / 1e6})
    return {"rows": rows}


def _fresh(emulator: Any, message_id: int, label: str, used: set[str]) -> str | None:
    message = emulator.messages.get((TELEGRAM_USER, message_id))
    if message is None:
        return None
    for button in message.buttons:
        if button.get("text") == label and button.get("callback_data") not in used:
            return button["callback_data"]
    return None


async def _next_game(after: int, game_model: Any) -> Any:
    from asgiref.sync import sync_to_async

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        game = await sync_to_async(lambda: game_model.objects.filter(pk__gt=after).order_by("pk").first())()
        if game is not None:
            return game
        await asyncio.sleep(0.01)
    raise RuntimeError("the press did not start a game")


async def _wait_state(game_id: int, game_model: Any, states: tuple[str, ...]) -> Any:
    from asgiref.sync import sync_to_async

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        game = await sync_to_async(game_model.objects.get)(pk=game_id)
        if game.state in states:
            return game
        await asyncio.sleep(0.01)
    raise RuntimeError(f"game {game_id} stayed {game.state}")


def run(args: argparse.Namespace) -> int:
    from ldp.django_setup import ensure_broker, setup_django

    setup_django()
    ensure_broker()
    import logging

    logging.getLogger("aiogram").setLevel(logging.WARNING)  # a line per update would be measured too
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from emulators.exchange import EmulatorProcess

    # As in production: with DEBUG on, Django would also log every SQL statement of the press.
    settings.DEBUG = False
    print("creating a throwaway database and starting the exchange emulator (separate process) …", flush=True)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        with EmulatorProcess(seed=1, mode="manual", extra_args=[] if args.emulator_preempts else ["--sched-batch"]
                             ) as server:
            settings.EXCHANGE_API_BASE = server.base_url
            server.control.set_price("BTCUSDT", "60000")
            key = server.control.create_key(balances={"USDT": "100000000"})
            result = asyncio.run(_bench(args, server, key))
        vendor = connection.vendor
    finally:
        teardown_databases(old_config, verbosity=0)
    rows, floor = result["rows"], result["floor"]
    figures = {name: [row[name] for row in rows] for name in rows[0]}
    policy = "normal policy" if args.emulator_preempts else "SCHED_BATCH"
    print(f"\nTtadak press → exchange, {len(rows)} games ({args.warmup} warm-up games not counted), database "
          f"{vendor}, exchange emulator in a separate process ({policy}), {os.cpu_count()} CPUs")
    print(f"{'milliseconds':<34} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}")
    names = {"received": "press → Ttadak has the press", "engine": "press → engine (session checked)",
             "parked": "press → both legs signed, parked",
             "persisted": "press → intents committed", "written": "press → both written (bot's clock)",
             "entry": "press → entry order arrives",
             "exit": "press → exit order arrives", "both": "press → both orders (later leg)",
             "skew": "skew between the two legs",
             "read": "press → both read by the emulator", "read_skew": "skew as read by the emulator",
             "emulator": "exchange emulator busy, 1st leg"}
    for name, title in names.items():
        values = figures[name]
        print(f"{title:<34} {_pct(values, 50):>8.3f} {_pct(values, 90):>8.3f} {_pct(values, 99):>8.3f} "
              f"{max(values):>8.3f}")
    for title, values in ((f"floor, a pair every {args.interval:g} s", floor),
                          ("floor, pairs back to back", result["floor_hot"])):
        print(f"{title:<34} {_pct(values, 50):>8.3f} {_pct(values, 90):>8.3f} {_pct(values, 99):>8.3f} "
              f"{max(values):>8.3f}")
    both = figures["both"]
    print(json.dumps({
        "games": len(rows), "p50_ms": round(_pct(both, 50), 3), "p90_ms": round(_pct(both, 90), 3),
        "p99_ms": round(_pct(both, 99), 3), "skew_p99_ms": round(_pct(figures["skew"], 99), 3),
        "floor_p50_ms": round(_pct(floor, 50), 3),
    }))
    return 0


async def _bench(args: argparse.Namespace, server: Any, key: dict[str, str]) -> dict:
    from asgiref.sync import sync_to_async
    from django.db import connections

    from ttadak.engine import close_game_engine

    try:
        played = await _play(args, server, key)
    finally:
        await close_game_engine()
        # The bot's database work ran on asgiref's worker thread: close its connections there, or the
        # throwaway database cannot be dropped.
        await sync_to_async(connections.close_all)()
    paced = await _floor(server, args.floor_rounds, pause=args.interval)
    back_to_back = await _floor(server, args.floor_rounds, pause=0)
    return {"rows": played["rows"], "floor": paced, "floor_hot": back_to_back}

