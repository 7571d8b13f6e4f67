"""A game: one press of BUY GAME / SELL GAME, its two legs (bots.Order rows) and its result.

    sending ──entry filled──▶ open ──target / stop loss / time──▶ closing ──▶ finished
       │                        │
       └──a leg failed──▶ failed (the other leg cancelled or its position closed at once)
    any state ──cleanup could not be confirmed──▶ attention (a person must look; orders are flagged)

The idempotency key (surface, user and the press's own id) is unique: a double tap or a redelivered
callback finds the game of the first press instead of starting a second one. A bot has at most one
game in play at a time (one-way position mode: two games on one symbol would net each other out), and
none while a game waits for a person.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from bots.models import MONEY, RunType
from core.models import TimeStampedModel


class GameSide(models.TextChoices):
    LONG = "long", "BUY GAME"
    SHORT = "short", "SELL GAME"


class GameState(models.TextChoices):
    SENDING = "sending", "Sending"
    OPEN = "open", "Open"
    CLOSING = "closing", "Closing"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    ATTENTION = "attention", "Needs attention"


IN_PLAY_STATES = (GameState.SENDING, GameState.OPEN, GameState.CLOSING)
# A game in `attention` may have left a position: no new game on that bot until it is resolved.
BLOCKING_STATES = (*IN_PLAY_STATES, GameState.ATTENTION)
FINAL_STATES = (GameState.FINISHED, GameState.FAILED)


class CloseReason(models.TextChoices):
    TARGET = "target", "Target reached"
    STOP_LOSS = "stop_loss", "Stop loss"
    TIMEOUT = "timeout", "Time limit"
    LEG_FAILED = "leg_failed", "A leg failed"
    MANUAL = "manual", "Closed by you"
    UNKNOWN = "unknown", "Unconfirmed"


class Game(TimeStampedModel):
    subscribed_bot = models.ForeignKey("bots.SubscribedBot", on_delete=models.CASCADE, related_name="ttadak_games")
    run = models.ForeignKey("bots.BotRun", on_delete=models.CASCADE, related_name="ttadak_games")
    run_type = models.CharField(max_length=16, choices=RunType.choices)
    idempotency_key = models.CharField(max_length=200, unique=True, help_text="surface:user:press id")
    side = models.CharField(max_length=8, choices=GameSide.choices)
    state = models.CharField(max_length=16, choices=GameState.choices, default=GameState.SENDING)
    exchange = models.CharField(max_length=32)
    symbol = models.CharField(max_length=32)
    leverage = models.PositiveSmallIntegerField()
    amount = models.DecimalField(**MONEY, help_text="base units, both legs")
    settings = models.JSONField(default=dict, blank=True, help_text="effective settings at the press")
    reference_price = models.DecimalField(**MONEY, help_text="last price known at the press")
    exit_limit_price = models.DecimalField(**MONEY)
    stop_loss_price = models.DecimalField(**MONEY, null=True, blank=True, help_text="from the entry fill")
    entry_order = models.ForeignKey("bots.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    exit_order = models.ForeignKey("bots.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    close_order = models.ForeignKey("bots.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    trade = models.ForeignKey("bots.Trade", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    entry_price = models.DecimalField(**MONEY, null=True, blank=True)
    close_price = models.DecimalField(**MONEY, null=True, blank=True)
    gross_pnl = models.DecimalField(**MONEY, null=True, blank=True)
    fees = models.DecimalField(**MONEY, null=True, blank=True)
    pnl = models.DecimalField(**MONEY, null=True, blank=True, help_text="after fees, quote currency")
    yield_pct = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True,
                                    help_text="pnl / margin × 100")
    close_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True, default="")
    message = models.CharField(max_length=500, blank=True, default="", help_text="user-facing, why it ended so")
    pressed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(help_text="closed at market if still open then (survives restarts)")
    finished_at = models.DateTimeField(null=True, blank=True)
    # Where the game panel that started it is shown, so the result edits it in place.
    surface = models.CharField(max_length=16, blank=True, default="")
    team_id = models.CharField(max_length=64, blank=True, default="")
    external_user_id = models.CharField(max_length=64, blank=True, default="")
    chat_id = models.CharField(max_length=64, blank=True, default="")
    message_id = models.CharField(max_length=64, blank=True, default="")
    timings = models.JSONField(default=dict, blank=True, help_text="press-to-send figures, µs")
    # Bumped by the process that watches the game; the sweep takes over games nobody watches.
    monitored_until = models.DateTimeField(null=True, blank=True)
    close_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "ttadak_game"
        indexes = [
            models.Index(fields=["subscribed_bot", "-created_at"], name="ttadak_game_bot_idx"),
            models.Index(fields=["deadline_at"], name="ttadak_game_in_play_idx",
                         condition=Q(state__in=["sending", "open", "closing"])),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(side__in=GameSide.values), name="ttadak_game_side_valid"),
            models.CheckConstraint(condition=Q(state__in=GameState.values), name="ttadak_game_state_valid"),
            models.CheckConstraint(condition=Q(run_type__in=[RunType.DRY_RUN, RunType.LIVE]),
                                   name="ttadak_game_run_type_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ttadak_game_amount_positive"),
            models.UniqueConstraint(fields=["subscribed_bot"],
                                    condition=Q(state__in=["sending", "open", "closing", "attention"]),
                                    name="ttadak_one_game_in_play"),
        ]

    def __str__(self) -> str:
        return f"{self.get_side_display()} #{self.pk} {self.symbol} ({self.state})"

    @property
    def in_play(self) -> bool:
        return self.state in IN_PLAY_STATES
