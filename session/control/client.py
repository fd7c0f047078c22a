"""``tradeday engine stop|start|restart NAME [--date D]``: one request to the day's running orchestrator.

Exit codes (README): 0 done (or nothing to do); 2 an unknown engine, or a live run's start
without ``--confirm-live``; 4 the engine cannot be started (FATAL); 7 no run in progress for
the date, or its engines are not trading now (waiting for the open, stopping, end of day);
1 the run refused you (another user).
"""
from __future__ import annotations

import errno
import socket
import sys
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from core.errors import TradedayError, UsageError
from core.exitcodes import ExitCode
from session.control.channel import encode, reachable, read_line, require_control, socket_path

if TYPE_CHECKING:
    from session.config import TradedayConfig

CONNECT_TIMEOUT_SECONDS = 5.0
REPLY_MARGIN_SECONDS = 30.0  # beyond the longest stop_timeout, which a stop may take

_EXIT_FOR_REFUSAL = {
    "usage": ExitCode.USAGE, "unknown_engine": ExitCode.USAGE, "live": ExitCode.USAGE,
    "stopping": ExitCode.NO_RUN, "cannot_start": ExitCode.ENGINE_FAILED, "not_owner": ExitCode.PRECHECK_FAILED,
    "busy": ExitCode.PRECHECK_FAILED, "loss_limit": ExitCode.NO_RUN, "internal": ExitCode.INTERNAL_ERROR,
}


class NoRunInProgress(TradedayError):
    exit_code = ExitCode.NO_RUN


@dataclass(frozen=True)
class ControlOutcome:
    date: date
    reply: dict[str, Any]  # session/supervisor/control.py ControlReply.to_json()
    exit_code: int

    @property
    def message(self) -> str:
        return str(self.reply.get("message") or "")

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), **self.reply, "exit_code": self.exit_code}


def engine_control(config: TradedayConfig, action: str, name: str, day: date | None = None, *,
                   confirm_live: bool = False) -> ControlOutcome:
    """Send ``action`` for engine ``name`` to the run of ``day`` (default: today, market time)."""
    from session.calendar import MarketCalendar
    from session.state import read_state, state_path

    require_control()
    if action not in ("stop", "start", "restart"):
        raise UsageError(f"unknown action {action!r}; use stop, start or restart")
    the_day = day if day is not None else MarketCalendar.from_market_config(config.market).today()
    state_file = state_path(config.artifacts_dir, the_day)
    state = read_state(state_file)
    if state is not None and state.get("mode") == "live" and action != "stop" and not confirm_live:
        raise UsageError(f"the run of {the_day} trades live: add --confirm-live to {action} engine {name}")
    path = socket_path(state_file.parent, the_day)
    longest_stop = max((float(e.stop_timeout) for e in config.engines), default=30.0)
    request = {"action": action, "engine": name, "confirm_live": confirm_live}
    try:
        reply = _ask(path, request, longest_stop + REPLY_MARGIN_SECONDS)
    except (FileNotFoundError, ConnectionRefusedError):
        raise _no_run(the_day, state) from None
    except PermissionError:
        raise TradedayError(f"permission denied on {path}: the run of {the_day} belongs to another user",
                            hint="run tradeday engine as the user that runs tradeday run",
                            exit_code=ExitCode.PRECHECK_FAILED) from None
    except OSError as exc:
        if exc.errno in (errno.ENOTSOCK, errno.ECONNRESET, errno.EPIPE):
            raise _no_run(the_day, state) from None
        raise TradedayError(f"cannot reach the run of {the_day} at {path}: {exc.strerror or exc}",
                            exit_code=ExitCode.NO_RUN) from None
    refused = reply.get("refused")
    code = ExitCode.OK if reply.get("ok") else _EXIT_FOR_REFUSAL.get(str(refused), ExitCode.PRECHECK_FAILED)
    return ControlOutcome(date=the_day, reply=reply, exit_code=int(code))


def _ask(path: Any, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    import json

    if sys.platform == "win32":  # no AF_UNIX there (require_control refuses before this)
        raise OSError("no Unix domain sockets on Windows")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT_SECONDS)
        with reachable(path) as address:
            sock.connect(address)
        sock.settimeout(timeout)
        try:
            sock.sendall(encode(request))
        except BrokenPipeError:
            pass  # refused before it read: the reason is in its answer

        try:
            raw = read_line(sock)
        except TimeoutError:
            raise TradedayError(f"the run did not answer within {timeout:g}s", hint="see tradeday status",
                                exit_code=ExitCode.NO_RUN) from None
    if not raw:
        raise ConnectionResetError(errno.ECONNRESET, "closed without an answer")
    reply = json.loads(raw.decode("utf-8"))
    if not isinstance(reply, dict):
        raise ConnectionResetError(errno.ECONNRESET, "an answer that is not a JSON object")
    return reply


def _no_run(day: date, state: dict[str, Any] | None) -> NoRunInProgress:
    """"no run in progress", or what the run of the day is doing instead of trading."""
    from session.state import orchestrator_alive

    if state is not None and orchestrator_alive(state):
        phase = state.get("phase")
        when = (state.get("session") or {}).get("start_at")
        extra = f"; its engines start at {when}" if phase in ("PRE_MARKET", "WAITING") and when else ""
        return NoRunInProgress(f"the run of {day} is in phase {phase}{extra}: engines can be controlled "
                               "only while it trades")
    return NoRunInProgress(f"no run in progress for {day}", hint="tradeday status shows the day's record")
