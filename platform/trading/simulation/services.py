"""The simulation run type: validate and queue a run (BotRun, run_type simulation), execute it in a task,
persist trades, orders, equity curve, metrics and chart on the run.

Chat and API call `simulation_start`; the Celery task `tasks.simulations.simulation_run_task` calls
`simulation_run`. Progress (percent) is saved on BotRun.progress, passed to an optional callback and sent
as the `simulation_progress` signal (run_id, percent) so that a chat can edit its message as it advances.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from bots.models import BotRun, Order, OrderSide, OrderStatus, OrderType, RunStatus, RunType, SubscribedBot, Trade
from core.errors import ApplicationError, ValidationError
from marketdata.models import Candle
from marketdata.selectors import candle_exchange_resolve, candles_get
from marketdata.series import SYNTHETIC_EXCHANGE
from marketdata.symbols import symbol_canonical
from marketdata.timeframes import BASE_TIMEFRAME, from_ms, iso_ms, timeframe_ms, to_ms
from trading.metrics import money
from trading.strategies.base import Strategy
from trading.strategies.registry import strategy_get

logger = logging.getLogger(__name__)

# Sent with run_id and percent whenever a simulation's progress moves.
simulation_progress = Signal()

DEFAULT_BALANCE = Decimal("10000")
DEFAULT_FEE_RATE = Decimal("0.001")  # 0.1% per side, taker
EQUITY_CURVE_POINTS = 500
_BATCH = 2_000
_PLACES = Decimal("0.0000000001")  # the MONEY columns' 10 places


def _decimal(value: Any, field: str, *, minimum: Decimal, maximum: Decimal | None, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field} must be a number (got {value!r})", field=field) from None
    if not number.is_finite() or number < minimum or (maximum is not None and number > maximum):
        raise ValidationError(f"{field} must be {what} (got {value})", field=field)
    return number


def _strategy_class(subscribed_bot: SubscribedBot) -> type[Strategy]:
    cls = strategy_get(subscribed_bot.bot.strategy)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ValidationError(f"{subscribed_bot.bot.name} trades by hand and cannot be simulated", field="bot")
    return cls


def _preferred_exchanges(subscribed_bot: SubscribedBot) -> list[str]:
    preferred = []
    if subscribed_bot.exchange_setting_id:
        preferred.append(subscribed_bot.exchange_setting.exchange)
    return [*preferred, *django_settings.SUPPORTED_EXCHANGES, "csv", SYNTHETIC_EXCHANGE]


def _check_range(start: datetime, end: datetime, timeframe: str, warmup: int) -> None:
    for name, moment in (("start", start), ("end", end)):
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValidationError(f"{name} must be a date and time with a time zone", field=name)
    if end <= start:
        raise ValidationError("end must be after start", field="end")
    bars = -(-(to_ms(end) - to_ms(start)) // timeframe_ms(timeframe)) + warmup
    limit = django_settings.SIMULATION_MAX_CANDLES
    if bars > limit:
        raise ValidationError(
            f"that range needs {bars:,} {timeframe} candles; the maximum is {limit:,}. "
            "Choose a shorter range or a larger timeframe.",
            field="end",
        )


def _check_data(exchange: str, symbol: str, timeframe: str, start: datetime, end: datetime) -> None:
    rows = Candle.objects.filter(exchange=exchange, symbol=symbol, timeframe__in=[timeframe, BASE_TIMEFRAME])
    if rows.filter(open_time__gte=start, open_time__lt=end).exists():
        return
    first = rows.order_by("open_time").values_list("open_time", flat=True).first()
    last = rows.order_by("-open_time").values_list("open_time", flat=True).first()
    raise ValidationError(
        f"no {symbol} candles between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC; "
        f"data is available from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC",
        field="start",
    )


@transaction.atomic
def simulation_start(
    *, user: Any, subscribed_bot_id: int, start: datetime, end: datetime, balance: Any = DEFAULT_BALANCE,
    fee_rate: Any = DEFAULT_FEE_RATE, slippage_bps: Any = 0, leverage: int | None = None,
    symbol: str | None = None, timeframe: str | None = None, settings: dict[str, Any] | None = None,
    exchange: str | None = None,
) -> BotRun:
    """Validate a simulation of the user's bot, create the queued BotRun and enqueue the task on commit.

    Settings are the bot's effective settings, overlaid with `settings` and the symbol / timeframe /
    leverage arguments, all validated through the strategy's schema. Bad input raises ValidationError
    (with `field`) and persists nothing.
    """
    from bots.selectors import subscribed_bot_effective_settings, subscribed_bot_get_for_user

    subscribed_bot = subscribed_bot_get_for_user(user=user, subscribed_bot_id=subscribed_bot_id)
    cls = _strategy_class(subscribed_bot)
    overrides = dict(settings or {})
    for name, value in (("symbol", symbol), ("timeframe", timeframe), ("leverage", leverage)):
        if value is not None:
            overrides[name] = value
    effective = cls.params.resolve(subscribed_bot_effective_settings(subscribed_bot=subscribed_bot), overrides)
    strategy = cls(effective)
    balance = _decimal(balance, "balance", minimum=Decimal("0.01"), maximum=Decimal("1e12"),
                       what="a positive amount")
    fee_rate = _decimal(fee_rate, "fee_rate", minimum=Decimal(0), maximum=Decimal("0.05"),
                        what="between 0 and 0.05 (5%)")
    slippage_bps = _decimal(slippage_bps, "slippage_bps", minimum=Decimal(0), maximum=Decimal(500),
                            what="between 0 and 500 basis points")
    timeframe = effective["timeframe"]
    _check_range(start, end, timeframe, strategy.warmup())
    market = symbol_canonical(effective["symbol"])
    source = exchange or candle_exchange_resolve(
        symbol=market, timeframe=timeframe, preferred=_preferred_exchanges(subscribed_bot)
    )
    _check_data(source, market, timeframe, start, end)

    run = BotRun.objects.create(
        subscribed_bot=subscribed_bot,
        run_type=RunType.SIMULATION,
        status=RunStatus.QUEUED,
        parameters={
            "strategy": cls.name, "exchange": source, "symbol": market, "timeframe": timeframe,
            "start": start.isoformat(), "end": end.isoformat(), "balance": str(balance),
            "fee_rate": str(fee_rate), "slippage_bps": str(slippage_bps), "leverage": effective["leverage"],
            "synthetic": source == SYNTHETIC_EXCHANGE,
        },
        setting_snapshot=effective,
    )
    from tasks.simulations import simulation_run_task

    simulation_run_task.delay_on_commit(run.pk)
    return run


class _Progress:
    """Persist percent done (only when it moved), call the callback, send the signal."""

    def __init__(self, run: BotRun, callback: Callable[[int], None] | None):
        self.run, self.callback, self.last = run, callback, -1

    def __call__(self, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        if percent <= self.last:
            return
        self.last = percent
        BotRun.objects.filter(pk=self.run.pk).update(progress=percent)
        self.run.progress = percent
        if self.callback:
            self.callback(percent)
        simulation_progress.send(sender=BotRun, run_id=self.run.pk, percent=percent)


def simulation_run(*, run_id: int, progress: Callable[[int], None] | None = None) -> BotRun | None:
    """Execute a queued (or interrupted) simulation run and persist its results. Idempotent: a finished,
    failed or cancelled run is returned as it is; a re-run replaces partial rows of an earlier attempt."""
    run = BotRun.objects.select_related("subscribed_bot__bot").filter(pk=run_id, run_type=RunType.SIMULATION).first()
    if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return run
    run.status, run.started_at, run.error, run.progress = RunStatus.RUNNING, timezone.now(), "", 0
    run.save(update_fields=["status", "started_at", "error", "progress", "updated_at"])
    report = _Progress(run, progress)
    try:
        report(1)
        result = _execute(run, report)
        _persist(run, result, report)
    except ApplicationError as exc:
        _fail(run, exc.message)
    except Exception:
        logger.exception("simulation run %s failed", run.pk)
        _fail(run, "The simulation failed unexpectedly; the error has been logged.")
        raise
    return run


def simulation_fail_timeout(*, run_id: int) -> None:
    run = BotRun.objects.filter(pk=run_id, status__in=[RunStatus.RUNNING, RunStatus.FAILED]).first()
    if run is not None:
        _fail(run, "The simulation took too long and was stopped; try a shorter range or a larger timeframe.")


def _fail(run: BotRun, message: str) -> None:
    run.status, run.error, run.finished_at = RunStatus.FAILED, message[:2000], timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "updated_at"])
    _notify_finished(run)


def _notify_finished(run: BotRun) -> None:
    # The user hears that the run ended (notifications outbox; once per run, delivered after commit).
    from notifications.hooks import simulation_finished_notify

    simulation_finished_notify(run=run)


def _execute(run: BotRun, report: _Progress) -> Any:
    from trading.simulation.runner import simulate

    params = run.parameters
    strategy = _strategy_class(run.subscribed_bot)(run.setting_snapshot)
    step = timeframe_ms(params["timeframe"])
    start, end = datetime.fromisoformat(params["start"]), datetime.fromisoformat(params["end"])
    warm_start = start - timedelta(milliseconds=step * strategy.warmup())
    candles = candles_get(exchange=params["exchange"], symbol=params["symbol"], timeframe=params["timeframe"],
                          start=warm_start, end=end)
    start_index = int(np.searchsorted(candles.ts, to_ms(start) - to_ms(start) % step))
    if start_index >= len(candles):
        raise ValidationError("there are no candles in the requested range any more", field="start")
    report(10)
    return simulate(
        candles, strategy, balance=float(params["balance"]), fee_rate=float(params["fee_rate"]),
        slippage_bps=float(params["slippage_bps"]), start_index=start_index,
        progress=lambda percent: report(10 + percent * 6 // 10),
    )


def _dec(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(_PLACES)


def _equity_curve(result: Any) -> list[list[str]]:
    equity, ts = result.engine.equity, result.candles.ts
    if len(equity) > EQUITY_CURVE_POINTS:
        pick = np.unique(np.linspace(0, len(equity) - 1, EQUITY_CURVE_POINTS).astype(np.int64))
    else:
        pick = np.arange(len(equity))
    return [[iso_ms(int(ts[i])), str(money(equity[i]))] for i in pick]


_ORDER_TYPES = {"stop_loss": OrderType.STOP_MARKET, "take_profit": OrderType.LIMIT}


def _trade_rows(run: BotRun, result: Any) -> list[Trade]:
    params, ts, offset = run.parameters, result.candles.ts, result.engine.offset
    quote = params["symbol"].split("/")[1]
    rows = []
    for record in result.engine.trades:
        rows.append(Trade(
            subscribed_bot=run.subscribed_bot, run=run, run_type=RunType.SIMULATION, exchange=params["exchange"],
            pair=params["symbol"], side=record.side, is_open=False, leverage=params["leverage"],
            amount=_dec(record.amount), entry_price=_dec(record.entry_price), exit_price=_dec(record.exit_price),
            stop_loss=_dec(record.stop_loss), take_profit=_dec(record.take_profit), realized_pnl=_dec(record.pnl),
            fee=_dec(record.fees), fee_currency=quote, exit_reason=record.exit_reason,
            opened_at=from_ms(int(ts[record.entry_bar - offset])),
            closed_at=from_ms(int(ts[record.exit_bar - offset])) if record.exit_bar is not None else None,
        ))
    return rows


def _order_rows(run: BotRun, result: Any, trades: list[Trade]) -> list[Order]:
    params, ts, offset = run.parameters, result.candles.ts, result.engine.offset
    quote = params["symbol"].split("/")[1]
    orders = []
    for seq, (bar, side, amount, price, fee, purpose, trade_index) in enumerate(result.engine.fill_rows, start=1):
        at = from_ms(int(ts[bar - offset]))
        order_type = _ORDER_TYPES.get(purpose, OrderType.MARKET)
        orders.append(Order(
            trade=trades[trade_index], subscribed_bot=run.subscribed_bot, run=run, run_type=RunType.SIMULATION,
            exchange=params["exchange"],
            # Deterministic and unique: the run id and the fill's sequence number.
            client_order_id=f"sim-{run.pk}-{seq}",
            status=OrderStatus.CLOSED, symbol=params["symbol"], type=order_type,
            side=OrderSide.BUY if side == "buy" else OrderSide.SELL,
            reduce_only=purpose not in ("entry", "increase"),
            price=_dec(price) if order_type == OrderType.LIMIT else None,
            average=_dec(price), amount=_dec(amount), filled=_dec(amount), remaining=Decimal(0),
            cost=_dec(price * amount), fee=_dec(fee), fee_currency=quote, purpose=purpose,
            submitted_at=at, filled_at=at,
        ))
    return orders


def _persist(run: BotRun, result: Any, report: _Progress) -> None:
    from trading.simulation.chart import render_chart

    png = render_chart(result)
    report(75)
    with transaction.atomic():
        # A retried task replaces what an interrupted attempt may have written.
        Order.objects.filter(run=run).delete()
        Trade.objects.filter(run=run).delete()
        trades = _trade_rows(run, result)
        for begin in range(0, len(trades), _BATCH):
            Trade.objects.bulk_create(trades[begin : begin + _BATCH])
        report(85)
        orders = _order_rows(run, result, trades)
        for begin in range(0, len(orders), _BATCH):
            Order.objects.bulk_create(orders[begin : begin + _BATCH])
        report(95)
        run.metrics = result.metrics
        run.equity_curve = _equity_curve(result)
        run.chart.save(f"simulation-{run.pk}.png", ContentFile(png), save=False)
        run.status, run.progress, run.finished_at = RunStatus.FINISHED, 100, timezone.now()
        run.save()
        _notify_finished(run)
    report(100)
