"""Misbehaviour knobs, read from the environment once at startup.

Every knob defaults to "behave well". A malformed value is an error at startup, never
a silent default: a misconfigured canary must fail its start, not pass its checks.
"""

# Part of HELLO-001's code; its TAG is in app/main.py (MoAI-ADK: each TAG once).

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

ERROR_RATE = "HELLO_ERROR_RATE"
LATENCY_MS = "HELLO_LATENCY_MS"
START_DELAY = "HELLO_START_DELAY"
NEVER_READY = "HELLO_NEVER_READY"
FAULT_AFTER = "HELLO_FAULT_AFTER"
UNREADY_AFTER = "HELLO_UNREADY_AFTER"

_TRUTHY = frozenset({"1", "true", "yes", "on"})
_FALSY = frozenset({"0", "false", "no", "off"})


class KnobError(ValueError):
    """A knob's environment value is malformed or out of range."""


@dataclass(frozen=True)
class Knobs:
    """The service's misbehaviour settings (all off by default)."""

    error_rate: Fraction = Fraction(0)
    latency_s: float = 0.0
    start_delay_s: float = 0.0
    never_ready: bool = False
    fault_after_s: float = 0.0  # errors and latency start this long after startup
    unready_after_s: float = 0.0  # /ready fails from this long after startup (0: never)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Knobs:
        """Parse the knobs from `env`; unset or empty variables keep their defaults."""
        return cls(
            error_rate=_rate(env, ERROR_RATE),
            latency_s=_non_negative(env, LATENCY_MS) / 1000.0,
            start_delay_s=_non_negative(env, START_DELAY),
            never_ready=_flag(env, NEVER_READY),
            fault_after_s=_non_negative(env, FAULT_AFTER),
            unready_after_s=_non_negative(env, UNREADY_AFTER),
        )


class ErrorSchedule:
    """Decides which requests fail, deterministically.

    Request n (1-based) fails iff floor(n*rate) > floor((n-1)*rate), so a rate of 0.3
    fails exactly 3 of every 10 requests: tests and demos can count on exact numbers.
    """

    def __init__(self, rate: Fraction) -> None:
        self._rate = rate
        self._count = 0
        self._lock = threading.Lock()

    def next_fails(self) -> bool:
        """Count one more request and say whether it must fail."""
        with self._lock:
            self._count += 1
            n = self._count
        return math.floor(n * self._rate) > math.floor((n - 1) * self._rate)


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _rate(env: Mapping[str, str], name: str) -> Fraction:
    raw = _raw(env, name)
    if raw is None:
        return Fraction(0)
    try:
        # Fraction keeps "0.3" exact, so the schedule's arithmetic has no float drift.
        rate = Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise KnobError(f"{name}={raw!r} is not a number; use a fraction from 0 to 1") from None
    if not 0 <= rate <= 1:
        raise KnobError(f"{name}={raw!r} is out of range; use a fraction from 0 to 1")
    return rate


def _non_negative(env: Mapping[str, str], name: str) -> float:
    raw = _raw(env, name)
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise KnobError(f"{name}={raw!r} is not a number; use a number >= 0") from None
    if not math.isfinite(value) or value < 0:
        raise KnobError(f"{name}={raw!r} is out of range; use a finite number >= 0")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return False
    if raw.lower() in _TRUTHY:
        return True
    if raw.lower() in _FALSY:
        return False
    raise KnobError(f"{name}={raw!r} is not a boolean; use 1/true/yes/on or 0/false/no/off")
