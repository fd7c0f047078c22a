"""Starting an engine: its own process group (core/platform), one spawner thread.

On POSIX each engine leads a new session and gets ``PR_SET_PDEATHSIG`` (Linux), which fires
when the *thread* that forked it exits, so engines are forked from a dedicated thread
(Spawner) that lives exactly as long as the Supervisor, whatever thread the caller uses. On
Windows each engine starts suspended in a kill-on-close Job Object of its own (the same
thread does it; nothing there depends on the thread).

Each start also gets ``TRADEDAY_STOP_FILE``, the portable stop request: tradeday removes the
file before the start and creates it when it wants the engine to stop (stopping.py).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

from core import platform
from session.proctree import TOKEN_VARIABLE
from session.supervisor.spec import EngineSpec

STOP_FILE_VARIABLE = "TRADEDAY_STOP_FILE"

_T = TypeVar("_T")


class Spawner(threading.Thread):
    """The one thread that forks engines (see the module docstring: PR_SET_PDEATHSIG)."""

    def __init__(self) -> None:
        super().__init__(name="tradeday-spawner", daemon=True)
        self._queue: SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = SimpleQueue()

    def run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            work, future = item
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

    def call(self, work: Callable[[], _T]) -> _T:
        future: Future[_T] = Future()
        self._queue.put((work, future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)




def instance_token(name: str, number: int) -> str:
    """TRADEDAY_ENGINE_INSTANCE of one start: finds its processes even after setsid (proctree)."""
    return f"{name}-{os.getpid()}-{number}-{secrets.token_hex(4)}"


def clear_stop_file(path: Path) -> None:
    """A stop request left from an earlier start must not stop the next one at once. Raises a
    plain OSError (a failed start, retried with backoff) if it cannot be removed."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OSError(f"cannot remove the stop file {path} of an earlier start: {exc.strerror or exc}") from None


def request_stop_file(path: Path) -> bool:
    """Create the stop file (and its folder): the engine's portable stop request. False if it
    could not be made (a full or read-only disk): the stop signal and the hard kill remain."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        return False
    return True


def spawn_engine(spawner: Spawner, spec: EngineSpec, *, restarts: int, token: str) -> subprocess.Popen[bytes]:
    """Start one start of ``spec`` from the spawner thread, in a process group of its own.

    The engine reads /dev/null (NUL), writes to two pipes, and gets TRADEDAY_RESTARTS, the
    instance token and TRADEDAY_STOP_FILE on top of its spec's environment. Raises what
    Popen raises (and OSError if the stop file of an earlier start cannot be removed).
    """
    env = dict(spec.env)
    env["TRADEDAY_RESTARTS"] = str(restarts)
    env[TOKEN_VARIABLE] = token
    stop_file = spec.stop_path
    clear_stop_file(stop_file)
    env[STOP_FILE_VARIABLE] = str(stop_file)

    def start() -> subprocess.Popen[bytes]:
        return platform.start_process(
            spec.argv, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stop_signal=spec.stop_signal, parent_death_signal=spec.parent_death_signal,
        )

    return spawner.call(start)
