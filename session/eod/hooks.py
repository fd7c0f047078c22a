"""One analytics or backtest hook: its environment, its process (spawned in its own group,
waited for up to its timeout, the whole group stopped), its step record.

The process handling (spawn, wait with a timeout, stop the group) is all here, on top of
core/platform: a process group and session on POSIX, a kill-on-close Job Object on Windows.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from core.redact import GLOBAL_REDACTOR
from session.eod.contract import STEP_FAILED, STEP_OK, STEP_TIMEOUT, StepRecord
from session.eod.paths import show_path, step_log_path

if TYPE_CHECKING:
    from session.config import StepConfig, TradedayConfig

log = logging.getLogger("tradeday.eod")

# After a step's timeout: SIGTERM to its group, then this long before SIGKILL.
STEP_STOP_GRACE_S = 5.0
# Lines of a failed step's output repeated in tradeday's log (the full output is in its file).
OUTPUT_TAIL_LINES = 15


def step_environment(config: TradedayConfig, step: StepConfig, day: date, mode: str, output: Path,
                     session_day: Any = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """tradeday's environment (less its notification secrets, as for engines), plus the step's
    ``env``, plus the TRADEDAY_* basics (which win)."""
    from session.engines import command_env, engine_base_env

    env = command_env(engine_base_env(config, os.environ if base is None else base), step)
    env.update({
        "TRADEDAY_MODE": mode,
        "TRADEDAY_CONFIG": str(config.path) if config.path else "",
        "TRADEDAY_SESSION_DATE": day.isoformat(),
        "TRADEDAY_JOURNAL": str(config.journal_path(day)),
        "TRADEDAY_ARTIFACTS": str(config.artifacts_dir),
        "TRADEDAY_OUTPUT": str(output),
    })
    if session_day is not None and getattr(session_day, "open", None) and getattr(session_day, "close", None):
        env["TRADEDAY_SESSION_OPEN"] = session_day.open.isoformat()
        env["TRADEDAY_SESSION_CLOSE"] = session_day.close.isoformat()
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_step(config: TradedayConfig, name: str, step: StepConfig, day: date, mode: str, output: Path, *,
             session_day: Any = None) -> StepRecord:
    """Run one hook to completion or its timeout; return its step record.

    The hook runs in its own session and process group (Windows: Job Object), stdin /dev/null,
    stdout and stderr appended to ``{logs}/{date}/eod-{name}.log``. At the timeout its whole
    group (and anything carrying its instance token) gets SIGTERM (Windows: CTRL_BREAK_EVENT),
    then the hard kill after STEP_STOP_GRACE_S. Processes it leaves behind after a normal exit are stopped too:
    a hook is supposed to be finished when it exits.
    """
    from core import platform
    from session.engines import command_cwd, expand_command
    from session.proctree import TOKEN_VARIABLE

    argv = expand_command(step.command, mode=mode, config_path=config.path, day=day)
    cwd = command_cwd(config, step)
    log_path = step_log_path(config, day, name)
    record: StepRecord = {"name": name, "status": STEP_FAILED, "exit_code": None, "duration_s": None,
                          "message": "", "log": str(log_path)}
    where = f"(see {show_path(config, log_path)})"
    if not cwd.is_dir():
        record["message"] = f"working directory {cwd} does not exist; fix eod.{name}.cwd"
        return record
    env = step_environment(config, step, day, mode, output, session_day)
    token = uuid.uuid4().hex
    env[TOKEN_VARIABLE] = token
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started_wall = datetime.now(UTC).astimezone()
    started = time.monotonic()
    with open(log_path, "ab") as fh:
        offset = fh.tell()
        fh.write(f"### tradeday: eod {name} started {started_wall.isoformat(timespec='seconds')}: "
                 f"{GLOBAL_REDACTOR(' '.join(argv))} (cwd {cwd}, timeout {step.timeout:g}s)\n".encode())
        fh.flush()
        try:
            proc = platform.start_process(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=fh,
                                          stderr=subprocess.STDOUT)
        except OSError as exc:
            record["message"] = f"cannot start {argv[0]}: {exc.strerror or exc}; fix eod.{name}.command"
            fh.write(f"### tradeday: could not start: {exc.strerror or exc}\n".encode())
            record["duration_s"] = round(time.monotonic() - started, 3)
            return record
        try:
            timed_out = _wait_or_stop(proc, token, step.timeout)
        except BaseException as exc:
            # A stop signal (Interrupted, Ctrl+C) or anything else while waiting: the hook and all
            # it started must not outlive us. It gets the same grace as at its timeout (to save
            # its work), then SIGKILL; a second Ctrl+C skips the grace.
            what = str(exc) or exc.__class__.__name__
            log.warning("eod %s: %s; stopping its process group (SIGTERM, SIGKILL after %gs)", name, what,
                        STEP_STOP_GRACE_S)
            _stop_group(proc, token, STEP_STOP_GRACE_S)
            platform.release_group(proc.pid)
            fh.write(f"### tradeday: {what} after {time.monotonic() - started:.1f}s; process group stopped\n"
                     .encode())
            raise
        if not timed_out:
            _stop_leftovers(name, proc, token)
        platform.release_group(proc.pid)
        _conclude(record, fh, name, step, proc.returncode, time.monotonic() - started, timed_out, where)
    _log_output(name, _output_tail(log_path, offset), failed=record["status"] != STEP_OK)
    return record


def _wait_or_stop(proc: subprocess.Popen[bytes], token: str, timeout: float) -> bool:
    """Wait for the hook up to ``timeout`` (0: no limit); True if its group had to be stopped.
    An exception while waiting (a stop signal) propagates: run_step stops the group then."""
    try:
        proc.wait(timeout=timeout or None)  # 0 = no limit, like hang_timeout
    except subprocess.TimeoutExpired:
        _stop_group(proc, token, STEP_STOP_GRACE_S)
        return True
    return False


def _stop_leftovers(name: str, proc: subprocess.Popen[bytes], token: str) -> None:
    """Stop what a hook that exited left running (it is supposed to be finished)."""
    from session.proctree import collect_engine_processes, stop_engine_processes

    leftovers = collect_engine_processes(proc.pid, token)
    if leftovers:
        log.warning("eod %s left %d process(es) running (%s); stopping them", name, len(leftovers),
                    ", ".join(str(p.pid) for p in leftovers))
        stop_engine_processes(proc.pid, token=token, stop_timeout=STEP_STOP_GRACE_S)


def _conclude(record: StepRecord, fh: BinaryIO, name: str, step: StepConfig, rc: int, duration: float,
              timed_out: bool, where: str) -> None:
    """Fill in the record from how the hook ended, and say it in its log file."""
    record["duration_s"] = round(duration, 3)
    record["exit_code"] = rc
    if timed_out:
        record["status"] = STEP_TIMEOUT
        record["message"] = (f"did not finish within {step.timeout:g}s (eod.{name}.timeout); "
                             f"its process group was stopped {where}")
        fh.write(f"### tradeday: timed out after {step.timeout:g}s; process group stopped\n".encode())
    elif rc == 0:
        record["status"] = STEP_OK
        record["message"] = "exit code 0"
        fh.write(f"### tradeday: exit code 0 after {duration:.1f}s\n".encode())
    else:
        record["message"] = (f"killed by {_signal_name(-rc)}" if rc < 0 else f"exit code {rc}") + f" {where}"
        fh.write(f"### tradeday: {record['message']} after {duration:.1f}s\n".encode())


def _log_output(name: str, tail: str, *, failed: bool) -> None:
    if failed and tail:
        log.warning("eod %s output (last lines):\n%s", name, GLOBAL_REDACTOR(tail))
    elif tail:
        log.debug("eod %s output:\n%s", name, GLOBAL_REDACTOR(tail))


def _stop_group(proc: subprocess.Popen[bytes], token: str, grace: float) -> None:
    from session.proctree import stop_engine_processes
    from session.supervisor.signals import active_kill_now

    exited = threading.Event()

    def reap() -> None:
        # The leader is our child: only Popen may wait for it (psutil must not reap it).
        proc.wait()
        exited.set()

    reaper = threading.Thread(target=reap, name="tradeday-eod-reaper", daemon=True)
    reaper.start()
    # kill_now: a second Ctrl+C while the group has its grace. Without installed handlers a
    # private event keeps proctree's waits off time.sleep.
    stop_engine_processes(proc.pid, token=token, stop_signal=int(signal.SIGTERM), stop_timeout=grace,
                          leader_exited=exited, kill_now=active_kill_now() or threading.Event())
    reaper.join(grace + 5.0)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _output_tail(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(offset, 0))
            data = fh.read()[-64 * 1024:]
    except OSError:
        return ""
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if not line.startswith("### tradeday:")]
    return "\n".join(lines[-OUTPUT_TAIL_LINES:])
