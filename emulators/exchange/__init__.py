"""A local Binance USDⓈ-M futures emulator that ccxt `binanceusdm` talks to unmodified.

Run it with `ldp exchange-emulator`, in-process with `EmulatorServer`, or as a subprocess with
`EmulatorProcess`; drive it with `EmulatorControl` (HTTP) or the `Exchange` object (in-process).
Pytest fixtures live in `emulators.exchange.testing`.
"""

from emulators.exchange.engine import EmulatorError, Exchange
from emulators.exchange.faults import FaultPlan
from emulators.exchange.runner import EmulatorControl, EmulatorProcess, EmulatorServer, start_site

__all__ = [
    "EmulatorControl", "EmulatorError", "EmulatorProcess", "EmulatorServer", "Exchange", "FaultPlan", "start_site",
]
