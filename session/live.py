"""What runs beside the supervision loop while the engines trade: the loss limit and the
control channel. Neither may block the loop or raise into it; both work on threads of their own.

* **Loss limit** (``session.max_daily_loss``, an amount in the report currency; off by default):
  a thread reads the day's journal as it grows (session/live_pnl.py, the daily report's rules)
  every ``LOSS_POLL_SECONDS``, at most ``LOSS_POLL_BYTES`` per read. When the realized PnL after
  fees is ``-max_daily_loss`` or below it sets :attr:`LiveSession.loss_limit_hit`; the loop (in
  session/day.py) then stops every engine as at the close (so they flatten), none restarts that
  day (STOPPED, reason "loss limit"), and the day goes on to the end of day. A CRITICAL
  ``loss_limit`` notification says so. A run started when the journal is already past the limit
  starts no engine.
* **Control** (``tradeday engine stop|start|restart NAME``): session/control/server.py accepts on
  ``{state}/{date}.sock``; requests are queued into the Supervisor, applied at its next tick, and
  answered from here; each is logged, kept in the state file (``controls``) and sent as an
  ``engine_control`` notification.
"""
from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reports.journal.incremental import JournalFigures
    from session.config import TradedayConfig
    from session.control.server import ControlServer, Peer
    from session.state import StateFile
    from session.supervisor import Supervisor

log = logging.getLogger("tradeday.run")
LOSS_POLL_SECONDS = 1.0
LOSS_POLL_BYTES = 1024 * 1024
LOSS_LIMIT = "loss limit"


class LiveSession:
    """Beside one day's supervision loop (``DayRun._trade``): ``run`` is the DayRun (its config,
    mode, state file, supervisor and ``notify``, which only queues and is safe from any thread)."""

    def __init__(self, run: Any, day: date) -> None:
        self.config: TradedayConfig = run.config
        self.day = day
        self.mode: str = run.options.mode
        self.state: StateFile = run.state
        self.supervisor: Supervisor = run.supervisor
        self.notify = run.notify
        self.limit: Decimal | None = self.config.session.max_daily_loss
        self.loss_limit_hit = threading.Event()
        self.figures: JournalFigures | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: ControlServer | None = None
        self._controls: list[dict[str, Any]] = []
        self._controls_lock = threading.Lock()
        self._reader: Any = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LiveSession:
        """Before the engines start: the journal read up to now (a day already past the limit
        starts none), the monitor thread and the control socket."""
        if self.limit is not None:
            from session.live_pnl import open_live_journal

            live = open_live_journal(self.config, self.day)
            self._reader = live.reader
            try:
                self._check(self._reader.poll_all(LOSS_POLL_BYTES))
            except OSError as exc:
                log.warning("loss limit: cannot read %s yet: %s", self._reader.path, exc.strerror or exc)
            if not self.loss_limit_hit.is_set():
                self._thread = threading.Thread(target=self._monitor, name="tradeday-loss-limit", daemon=True)
                self._thread.start()
            log.info("loss limit: %s %s of realized PnL after fees", self.limit, live.currency or "")
        self._start_server()
        return self

    def start_engines(self) -> None:
        """Start the supervisor's engines, unless the day's journal is already past the loss limit."""
        if self.loss_limit_hit.is_set():
            log.critical("loss limit: the day's journal is already past it; no engine is started")
            return
        self.supervisor.start()

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
        if self._thread is not None:
            self._thread.join(5.0)

    def _start_server(self) -> None:
        from session.control.channel import CONTROL_AVAILABLE, socket_path

        if not CONTROL_AVAILABLE:
            log.info("engine control (tradeday engine) is not available on this platform")
            return
        from session.control.server import ControlServer

        path = socket_path(self.state.path.parent, self.day)
        try:
            self._server = ControlServer(path, self._handle).start()
        except OSError as exc:  # trading does not depend on it
            log.error("engine control unavailable: cannot listen on %s: %s", path, exc.strerror or exc)
            self._server = None

    # ------------------------------------------------------------------ the loss limit

    def _monitor(self) -> None:
        while not self._closing.wait(LOSS_POLL_SECONDS):
            try:
                figures = self._reader.poll(LOSS_POLL_BYTES)
            except OSError as exc:  # an unreadable journal: said once a minute at most, never raised
                log.warning("loss limit: cannot read %s: %s", self._reader.path, exc.strerror or exc)
                self._closing.wait(60.0)
                continue
            except Exception:
                log.exception("loss limit: reading the journal failed; the limit is no longer watched")
                return
            if self._check(figures):
                return

    def _check(self, figures: JournalFigures) -> bool:
        self.figures = figures
        if self.limit is None or figures.realized_pnl_exact > -self.limit:
            return False
        text = (f"realized PnL after fees {figures.realized_pnl:.2f} reached the daily loss limit of "
                f"-{self.limit}; stopping every engine for the rest of the day")
        log.critical("loss limit: %s", text)
        self.state.update(loss_limit={"limit": str(self.limit), "realized_pnl": figures.realized_pnl,
                                      "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                                      "fills": figures.fills})
        self.notify("loss_limit", "CRITICAL", f"loss limit reached {self.day}", text,
                    fields={"realized_pnl": figures.realized_pnl, "limit": float(self.limit),
                            "fills": figures.fills, "trades": figures.trades})
        self.loss_limit_hit.set()
        return True

    # ------------------------------------------------------------------ engine control

    def _handle(self, request: dict[str, Any], peer: Peer) -> dict[str, Any]:
        """On a control connection's thread: check, hand over to the supervisor, wait, record."""
        from session.supervisor.control import ControlReply

        action, name = str(request.get("action", "")), str(request.get("engine", ""))
        if self.mode == "live" and action in ("start", "restart") and request.get("confirm_live") is not True:
            reply = ControlReply(False, action, name, f"this run trades live: {action} needs --confirm-live",
                                 refused="live")
        elif self.loss_limit_hit.is_set() and action in ("start", "restart"):
            reply = ControlReply(False, action, name, "the daily loss limit was reached: engines stay stopped "
                                 "for the rest of the day", refused="loss_limit")
        else:
            reply = self.supervisor.wait_reply(self.supervisor.submit_control(action, name))
        self._record(reply, peer)
        return reply.to_json()

    def _record(self, reply: Any, peer: Peer) -> None:
        entry = {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "uid": peer.uid, "pid": peer.pid,
                 **reply.to_json()}
        log.log(logging.INFO if reply.ok else logging.WARNING, "engine control: %s %s by uid %s (pid %s): %s",
                reply.action, reply.engine, peer.uid, peer.pid, reply.message)
        with self._controls_lock:
            self._controls.append(entry)
            controls = list(self._controls)
        self.state.update(controls=controls)
        self.notify("engine_control", "WARNING" if reply.ok else "INFO",
                    f"engine {reply.engine}: {reply.action} by the operator", reply.message,
                    fields={"action": reply.action, "engine": reply.engine, "ok": reply.ok, "state": reply.state})
