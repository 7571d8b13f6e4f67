from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel

MONEY = {"max_digits": 28, "decimal_places": 10}


class BotKind(models.TextChoices):
    AUTOMATED = "automated", "Automated"
    MANUAL = "manual", "Manual"
    INDICATOR = "indicator", "Indicator"


class RunType(models.TextChoices):
    SIMULATION = "simulation", "Simulation"
    DRY_RUN = "dry_run", "Dry-run"
    LIVE = "live", "Live-run"


class Bot(TimeStampedModel):
    """A bot in the catalog (ERD: bot). `strategy` names the code that runs it (trading.strategies)."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=BotKind.choices, db_index=True)
    version = models.CharField(max_length=32, default="1.0")
    strategy = models.CharField(max_length=64, help_text="registered strategy name, e.g. sma_cross")
    description = models.TextField(blank=True, default="")
    default_setting = models.JSONField(default=dict, blank=True)
    is_listed = models.BooleanField(default=True, help_text="shown in the catalog")

    class Meta:
        db_table = "bot"
        constraints = [models.CheckConstraint(condition=Q(kind__in=BotKind.values), name="bot_kind_valid")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class BotState(models.TextChoices):
    STOPPED = "stopped", "Stopped"
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    STOPPING = "stopping", "Stopping"
    ERROR = "error", "Error"


class SubscribedBot(TimeStampedModel):
    """A user's instance of a bot (ERD: user_subscribed_bot): their settings, run type and state."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscribed_bots")
    bot = models.ForeignKey(Bot, on_delete=models.PROTECT, related_name="subscriptions")
    fund_subscription = models.ForeignKey(
        "funds.FundSubscription", null=True, blank=True, on_delete=models.SET_NULL, related_name="subscribed_bots"
    )
    exchange_setting = models.ForeignKey(
        "exchanges.ExchangeSetting", null=True, blank=True, on_delete=models.SET_NULL, related_name="subscribed_bots"
    )
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    run_type = models.CharField(max_length=16, choices=RunType.choices, default=RunType.DRY_RUN)
    user_bot_setting = models.JSONField(default=dict, blank=True, help_text="overrides over bot.default_setting")
    subscription_start = models.DateTimeField()
    subscription_end = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=BotState.choices, default=BotState.STOPPED)
    state_reason = models.CharField(max_length=300, blank=True, default="")
    state_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_subscribed_bot"
        indexes = [
            models.Index(fields=["user", "status"], name="usb_user_status_idx"),
            models.Index(fields=["state", "run_type"], name="usb_state_run_type_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SubscriptionStatus.values), name="usb_status_valid"),
            models.CheckConstraint(condition=Q(run_type__in=RunType.values), name="usb_run_type_valid"),
            models.CheckConstraint(condition=Q(state__in=BotState.values), name="usb_state_valid"),
            # One current stand-alone subscription per user and bot (a double tap in chat must not
            # create two instances); bots that come with a fund subscription are separate.
            models.UniqueConstraint(
                fields=["user", "bot"],
                condition=Q(fund_subscription__isnull=True, status__in=["pending", "active"]),
                name="usb_one_current_standalone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bot.name} for {self.user}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class BotRun(TimeStampedModel):
    """One run of a subscribed bot: a simulation over a range, or a dry/live session from START to STOP.

    Every trade and order points at the run that produced it, so simulated, paper and live money
    never mix in a report.
    """

    subscribed_bot = models.ForeignKey(SubscribedBot, on_delete=models.CASCADE, related_name="runs")
    run_type = models.CharField(max_length=16, choices=RunType.choices)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    parameters = models.JSONField(default=dict, blank=True, help_text="symbol, timeframe, range, balance, fees…")
    setting_snapshot = models.JSONField(default=dict, blank=True, help_text="effective settings at start")
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent done (simulations)")
    metrics = models.JSONField(default=dict, blank=True)
    equity_curve = models.JSONField(default=list, blank=True, help_text="[[iso_time, equity], …], downsampled")
    chart = models.ImageField(upload_to="charts/", null=True, blank=True)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by operators (bots.services.bot_run_publish_reference): the catalog shows the bot's latest
    # published simulation as its simulation result. Simulations are never counted as track record.
    is_reference = models.BooleanField(
        default=False, help_text="published as the bot's reference simulation result in the catalog"
    )

    class Meta:
        db_table = "bot_run"
        indexes = [
            models.Index(fields=["subscribed_bot", "run_type", "-created_at"], name="run_bot_type_idx"),
            models.Index(fields=["subscribed_bot"], name="run_reference_idx", condition=Q(is_reference=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(run_type__in=RunType.values), name="run_run_type_valid"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(
                condition=Q(is_reference=False) | Q(run_type=RunType.SIMULATION), name="run_reference_is_simulation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_run_type_display()} run #{self.pk}"


class TradeSide(models.TextChoices):
    LONG = "long", "Long"
    SHORT = "short", "Short"


class Trade(TimeStampedModel):
    """A position from entry to exit (ERD: trade)."""

    subscribed_bot = models.ForeignKey(SubscribedBot, on_delete=models.CASCADE, related_name="trades")
    run = models.ForeignKey(BotRun, on_delete=models.CASCADE, related_name="trades")
    run_type = models.CharField(max_length=16, choices=RunType.choices, help_text="copied from the run")
    exchange = models.CharField(max_length=32)
    pair = models.CharField(max_length=32)
    side = models.CharField(max_length=8, choices=TradeSide.choices, default=TradeSide.LONG)
    is_open = models.BooleanField(default=True)
    leverage = models.DecimalField(max_digits=8, decimal_places=2, default=1)
    amount = models.DecimalField(**MONEY, default=0, help_text="base units")
    entry_price = models.DecimalField(**MONEY, null=True, blank=True)
    exit_price = models.DecimalField(**MONEY, null=True, blank=True)
    stop_loss = models.DecimalField(**MONEY, null=True, blank=True)
    take_profit = models.DecimalField(**MONEY, null=True, blank=True)
    realized_pnl = models.DecimalField(**MONEY, default=0, help_text="after fees, quote currency")
    fee = models.DecimalField(**MONEY, default=0)
    fee_currency = models.CharField(max_length=16, blank=True, default="")
    exit_reason = models.CharField(max_length=32, blank=True, default="")
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "trade"
        indexes = [
            models.Index(fields=["subscribed_bot", "run_type", "-opened_at"], name="trade_bot_type_idx"),
            models.Index(fields=["run", "opened_at"], name="trade_run_idx"),
            models.Index(fields=["is_open"], name="trade_open_idx", condition=Q(is_open=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(run_type__in=RunType.values), name="trade_run_type_valid"),
            models.CheckConstraint(condition=Q(side__in=TradeSide.values), name="trade_side_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.pair} #{self.pk}"


class OrderStatus(models.TextChoices):
    # `submitting` is persisted before the request leaves; `unknown` means the exchange could not
    # tell us after retries and a person must look (see reconciliation).
    SUBMITTING = "submitting", "Submitting"
    OPEN = "open", "Open"
    CLOSED = "closed", "Filled"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"
    REJECTED = "rejected", "Rejected"
    UNKNOWN = "unknown", "Unknown"


FINAL_ORDER_STATUSES = (OrderStatus.CLOSED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED)


class OrderSide(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class OrderType(models.TextChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"
    STOP_MARKET = "stop_market", "Stop market"


class Order(TimeStampedModel):
    """An order (ERD: order), with the ccxt order fields plus what real money needs."""

    trade = models.ForeignKey(Trade, null=True, blank=True, on_delete=models.CASCADE, related_name="orders")
    subscribed_bot = models.ForeignKey(SubscribedBot, on_delete=models.CASCADE, related_name="orders")
    run = models.ForeignKey(BotRun, on_delete=models.CASCADE, related_name="orders")
    run_type = models.CharField(max_length=16, choices=RunType.choices, help_text="copied from the run")
    exchange = models.CharField(max_length=32)
    client_order_id = models.CharField(max_length=36, unique=True)
    exchange_order_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.SUBMITTING)
    symbol = models.CharField(max_length=32)
    type = models.CharField(max_length=16, choices=OrderType.choices, default=OrderType.MARKET)
    side = models.CharField(max_length=8, choices=OrderSide.choices)
    reduce_only = models.BooleanField(default=False)
    price = models.DecimalField(**MONEY, null=True, blank=True, help_text="limit price; null for market")
    average = models.DecimalField(**MONEY, null=True, blank=True, help_text="average fill price")
    amount = models.DecimalField(**MONEY)
    filled = models.DecimalField(**MONEY, default=0)
    remaining = models.DecimalField(**MONEY, default=0)
    cost = models.DecimalField(**MONEY, default=0)
    fee = models.DecimalField(**MONEY, default=0)
    fee_currency = models.CharField(max_length=16, blank=True, default="")
    purpose = models.CharField(max_length=32, blank=True, default="", help_text="entry, exit, stop_loss, …")
    last_error = models.CharField(max_length=500, blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    # Money safety (trading.orders): which account a live order went to, the caller's idempotency key
    # (client_order_id is derived from it), and the "needs a person" flag that reconciliation sets.
    exchange_setting = models.ForeignKey(
        "exchanges.ExchangeSetting", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders",
        help_text="the exchange account a live order was sent with",
    )
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    attention_reason = models.CharField(max_length=300, blank=True, default="", help_text="why a person must look")
    attention_at = models.DateTimeField(null=True, blank=True)
    reconcile_attempts = models.PositiveSmallIntegerField(default=0)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "order"
        indexes = [
            models.Index(fields=["subscribed_bot", "run_type", "-created_at"], name="order_bot_type_idx"),
            models.Index(fields=["exchange", "exchange_order_id"], name="order_exchange_id_idx"),
            models.Index(
                fields=["status"],
                name="order_not_final_idx",
                condition=Q(status__in=["submitting", "open", "unknown"]),
            ),
            models.Index(fields=["attention_at"], name="order_attention_idx", condition=Q(attention_at__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=Q(side__in=OrderSide.values), name="order_side_valid"),
            models.CheckConstraint(condition=Q(type__in=OrderType.values), name="order_type_valid"),
            models.CheckConstraint(condition=Q(run_type__in=RunType.values), name="order_run_type_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.symbol} ({self.status})"


class BotRuntime(models.Model):
    """Between-ticks state of a dry-run or live bot: one row per subscribed bot (RUNTIME owns it).

    The tick engine loads a whole batch of these with one query and writes them back in bulk.
    `last_candle_at` is written in the same transaction as the tick's decision, so a redelivered tick
    for the same candle does nothing. `exchange`/`symbol`/`timeframe` are copied from the effective
    settings so the scheduler can select and group bots without reading settings.
    """

    subscribed_bot = models.OneToOneField(
        SubscribedBot, primary_key=True, on_delete=models.CASCADE, related_name="runtime"
    )
    run = models.ForeignKey(BotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    exchange = models.CharField(max_length=32, blank=True, default="")
    symbol = models.CharField(max_length=32, blank=True, default="")
    timeframe = models.CharField(max_length=8, blank=True, default="")
    last_candle_at = models.DateTimeField(null=True, blank=True, help_text="open time of the last candle ticked")
    last_tick_at = models.DateTimeField(null=True, blank=True, help_text="wall-clock time of that tick")
    strategy_state = models.JSONField(default=dict, blank=True)
    # The bot's own position (dry-run: the paper account's; live: reconciled with the exchange).
    position_side = models.CharField(max_length=8, blank=True, default="", help_text="'', long or short")
    position_amount = models.DecimalField(**MONEY, default=0)
    position_entry_price = models.DecimalField(**MONEY, null=True, blank=True)
    position_target = models.FloatField(default=0, help_text="the strategy target the position was set to")
    stop_loss = models.DecimalField(**MONEY, null=True, blank=True)
    take_profit = models.DecimalField(**MONEY, null=True, blank=True)
    open_trade = models.ForeignKey(Trade, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Money since START (quote currency). `balance` is the wallet: starting equity plus closed P&L minus
    # fees paid (as the simulator's book keeps it); `trade_book` holds the open trade's running sums.
    starting_equity = models.DecimalField(**MONEY, default=0)
    balance = models.DecimalField(**MONEY, default=0)
    trade_book = models.JSONField(default=dict, blank=True)
    equity = models.DecimalField(**MONEY, default=0, help_text="marked to the last close")
    peak_equity = models.DecimalField(**MONEY, default=0)
    realized_pnl = models.DecimalField(**MONEY, default=0)
    fees = models.DecimalField(**MONEY, default=0)
    trade_count = models.PositiveIntegerField(default=0)
    # Protections.
    consecutive_stop_losses = models.PositiveSmallIntegerField(default=0)
    cooldown_until = models.DateTimeField(null=True, blank=True)
    day = models.DateField(null=True, blank=True, help_text="UTC day of day_start_equity")
    day_start_equity = models.DecimalField(**MONEY, default=0)
    paused_until = models.DateTimeField(null=True, blank=True, help_text="daily loss limit reached")
    stop_close_position = models.BooleanField(null=True, blank=True, help_text="asked at STOP")
    # Live: orders a tick decided, placed after its transaction commits; a crash leaves them here and the
    # next tick resumes them under the same idempotency keys (never placed twice).
    pending_actions = models.JSONField(default=list, blank=True)
    failed_ticks = models.PositiveSmallIntegerField(default=0, help_text="consecutive ticks that failed")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "bot_runtime"
        indexes = [models.Index(fields=["timeframe", "exchange", "symbol"], name="runtime_market_idx")]

    def __str__(self) -> str:
        return f"runtime of subscribed bot #{self.subscribed_bot_id}"


class BotEventKind(models.TextChoices):
    STARTED = "started", "Started"
    STOPPED = "stopped", "Stopped"
    ERROR = "error", "Error"
    ORDER_FILLED = "order_filled", "Order filled"
    TRADE_CLOSED = "trade_closed", "Trade closed"
    PROTECTION = "protection", "Protection triggered"
    SETTINGS_APPLIED = "settings_applied", "Settings applied"
    SIGNAL = "signal", "Signal"


class BotEvent(models.Model):
    """Something a user may want to hear about (recorded by bots.events.bot_event_record)."""

    subscribed_bot = models.ForeignKey(SubscribedBot, on_delete=models.CASCADE, related_name="events")
    run = models.ForeignKey(BotRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    kind = models.CharField(max_length=24, choices=BotEventKind.choices)
    message = models.CharField(max_length=500, help_text="user-facing text")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bot_event"
        indexes = [models.Index(fields=["subscribed_bot", "-created_at"], name="event_bot_time_idx")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=BotEventKind.values), name="event_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"
