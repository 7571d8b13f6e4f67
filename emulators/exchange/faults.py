"""Fault injection: rules matched against each request, switchable per test.

A rule matches on method, path (exact, or a prefix ending in `*`) and API key; it fires `times` times
(None = until removed) with `probability`. Kinds:

- latency        sleep `latency_ms` before handling (adds up with other latency rules)
- status         answer HTTP `status` with a Binance error body; `retry_after` sets Retry-After.
                 `when="after"` processes the request first (e.g. a 503 after the order was accepted)
- drop           close the connection without an answer; `when="after"` drops AFTER processing
                 (the order exists at the exchange, the client sees a dropped connection)
- error          answer `status` with `{"code": code, "msg": msg}` without processing

Presets expand to those kinds: rate_limit (429, -1003), ip_ban (418, -1003), server_error (503),
insufficient_margin (-2019), order_not_found (-2013), ip_restricted (-2015).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "rate_limit": {"kind": "status", "status": 429, "code": -1003, "retry_after": 1,
                   "msg": "Too many requests; current limit is 2400 request weight per 1 MINUTE."},
    "ip_ban": {"kind": "status", "status": 418, "code": -1003, "retry_after": 60,
               "msg": "Way too many requests; IP banned until further notice."},
    "server_error": {"kind": "status", "status": 503, "code": -1001,
                     "msg": "Internal error; unable to process your request. Please try again."},
    "insufficient_margin": {"kind": "error", "status": 400, "code": -2019, "msg": "Margin is insufficient."},
    "order_not_found": {"kind": "error", "status": 400, "code": -2013, "msg": "Order does not exist."},
    "ip_restricted": {"kind": "error", "status": 401, "code": -2015,
                      "msg": "Invalid API-key, IP, or permissions for action."},
}
KINDS = {"latency", "status", "drop", "error"}


@dataclass
class Fault:
    id: int
    kind: str
    path: str | None = None
    method: str | None = None
    api_key: str | None = None
    when: str = "before"  # before | after (status, drop)
    status: int = 400
    code: int | None = None
    msg: str = ""
    retry_after: int | None = None
    latency_ms: float = 0.0
    times: int | None = None
    probability: float = 1.0
    fired: int = field(default=0)

    def matches(self, method: str, path: str, api_key: str | None) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path:
            if self.path.endswith("*"):
                if not path.startswith(self.path[:-1]):
                    return False
            elif path != self.path:
                return False
        if self.api_key and self.api_key != api_key:
            return False
        return self.times is None or self.times > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    def __init__(self, seed: int = 0):
        self._faults: list[Fault] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> Fault:
        spec = dict(spec)
        preset = PRESETS.get(spec.get("kind", ""))
        if preset:
            spec = {**preset, **{k: v for k, v in spec.items() if k != "kind"}, "kind": preset["kind"]}
        if spec.get("kind") not in KINDS:
            raise ValueError(f"unknown fault kind {spec.get('kind')!r}; use one of {sorted(KINDS | set(PRESETS))}")
        allowed = set(Fault.__dataclass_fields__) - {"id", "fired"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        with self._lock:
            fault = Fault(id=self._next_id, **spec)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def select(self, method: str, path: str, api_key: str | None) -> tuple[float, Fault | None]:
        """(total latency in ms, the first non-latency fault that fires), consuming their `times`."""
        latency = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path, api_key):
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                if fault.kind == "latency":
                    latency += fault.latency_ms
                elif chosen is None:
                    chosen = fault
                else:
                    continue
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
        return latency, chosen
