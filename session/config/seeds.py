"""The two seed systems' config shapes, as their authors meant them.

copilot_quant (a file with ``schedule`` or ``broker.broker_type``): its ``strategy`` and
``risk`` sections keep its validation rules (fractions in (0, 1], ``max_positions`` >= 1),
``broker.paper_trading: false`` without a ``mode`` means live (and live still needs the
command line's ``--mode live --confirm-live``), and ``risk.enable_circuit_breaker`` with an
absolute ``risk.max_daily_loss`` becomes ``session.max_daily_loss``.

kite-algo-minimal: its ``engines:`` is a mapping of engine options (``engines.paper.fno:
{enabled, runner}``) that its engine reads from the file; tradeday's own engine list then
comes from ``session.engines`` (default: none).

Every rule raises :class:`RuleViolation` with the key path, so the message names the
file's line (session/config/errors.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from session.validation import RuleViolation

# (section, key, is 0 allowed?): fractions in (0, 1] or [0, 1], copilot_quant's ConfigManager._validate_config.
_FRACTIONS = (
    ("risk", "max_portfolio_drawdown", False),
    ("risk", "max_position_size", False),
    ("risk", "circuit_breaker_threshold", False),
    ("risk", "position_stop_loss", True),
    ("strategy", "position_size_pct", False),
)
ENGINES_SHAPES = ("a list of engines ({name, command, ...}), or a kite-algo-minimal mapping of engine "
                  "options (engines: {paper: {NAME: {enabled, runner}}})")
_ENGINE_KEYS = frozenset({"name", "command", "cwd", "env", "enabled", "restart", "max_restarts", "backoff",
                          "no_restart_exit_codes", "start_secs", "hang_timeout", "stop_signal", "stop_timeout",
                          "parent_death_signal"})


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_copilot(data: Mapping[str, Any]) -> bool:
    """A file written for copilot_quant: it has its ``schedule`` section or its broker form."""
    return isinstance(data.get("schedule"), Mapping) or "broker_type" in _mapping(data.get("broker"))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_copilot_rules(data: Mapping[str, Any]) -> None:
    """copilot_quant's rules for the keys a copilot_quant file gives (defaults are not added)."""
    if not is_copilot(data):
        return
    for section, key, zero_ok in _FRACTIONS:
        values = _mapping(data.get(section))
        if key not in values:
            continue
        value = values[key]
        low = "at least 0" if zero_ok else "more than 0"
        in_range = _number(value) and (value >= 0 if zero_ok else value > 0) and value <= 1
        if not in_range:
            raise RuleViolation(f"must be a fraction {low} and at most 1 (0.12 is 12%); got {value!r}",
                                hint="write it as a fraction of the portfolio, as copilot_quant does",
                                at=(section, key))
    positions = _mapping(data.get("strategy")).get("max_positions", 1)
    if not isinstance(positions, int) or isinstance(positions, bool) or positions < 1:
        raise RuleViolation(f"must be a whole number of at least 1; got {positions!r}",
                            at=("strategy", "max_positions"))
    limit = _mapping(data.get("risk")).get("max_daily_loss")
    if limit is not None and (not _number(limit) or limit <= 0):
        raise RuleViolation(f"must be an amount of money more than 0; got {limit!r}", at=("risk", "max_daily_loss"))


def copilot_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """What a copilot_quant file means in tradeday's terms (a new dict when anything changes)."""
    if not is_copilot(data):
        return data
    broker = _mapping(data.get("broker"))
    if "mode" not in data and broker.get("paper_trading") is False:
        # paper_trading: false is copilot_quant's word for live. The run still refuses to trade
        # live without --mode live --confirm-live (session/modes.py); it is never paper instead.
        data = {**data, "mode": "live"}
    risk = _mapping(data.get("risk"))
    limit = risk.get("max_daily_loss")
    session = data.get("session")
    if risk.get("enable_circuit_breaker") is True and _number(limit) and (session is None or isinstance(session, dict)):
        if "max_daily_loss" not in (session or {}):
            data = {**data, "session": {**(session or {}), "max_daily_loss": limit}}
    return data


def is_kite_engine_options(value: Any) -> bool:
    """kite-algo-minimal's ``engines:``: a mapping of mappings (``paper: {fno: {enabled, runner}}``),
    not one engine written as a mapping (``{name: x, command: ...}``)."""
    if not isinstance(value, Mapping) or not value:
        return False
    if any(key in _ENGINE_KEYS for key in value):
        return False
    return all(isinstance(v, Mapping) or v is None for v in value.values())


def split_engines(data: Any) -> tuple[Any, dict[str, Any] | None]:
    """(the data tradeday validates, kite-algo-minimal's engine options or None)."""
    if not isinstance(data, dict) or "engines" not in data:
        return data, None
    engines = data["engines"]
    if is_kite_engine_options(engines):
        return {**data, "engines": []}, dict(engines)
    if not isinstance(engines, list) and engines is not None:
        raise RuleViolation(f"must be {ENGINES_SHAPES}", at=("engines",))
    return data, None


def engine_list_conflict(data: Any, options: dict[str, Any] | None) -> RuleViolation | None:
    """``session.engines`` is where tradeday's list goes when ``engines:`` holds the engine's
    options; a file that gives both lists must say which one it means."""
    session = data.get("session") if isinstance(data, dict) else None
    if options is None and isinstance(session, Mapping) and session.get("engines") and data.get("engines"):
        return RuleViolation("give the engine list once: under engines, or (when engines holds "
                             "kite-algo-minimal's engine options) under session.engines", at=("session", "engines"))
    return None
