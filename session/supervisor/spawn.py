"""Starting an engine: its own session and process group, PR_SET_PDEATHSIG, one spawner thread.

On Linux each engine gets ``PR_SET_PDEATHSIG``, which fires when the *thread* that forked
it exits, so engines are forked from a dedicated thread (Spawner) that lives exactly as
long as the Supervisor, whatever thread the caller uses.
"""
from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any, TypeVar

from session.proctree import TOKEN_VARIABLE
from session.supervisor.spec import EngineSpec

_PR_SET_PDEATHSIG = 1

_T = TypeVar("_T")


def _linux_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _linux_prctl()


def _child_setup(stop_signal: int, parent_death_signal: int | None) -> Callable[[], None]:
    """The preexec function: runs in the forked child, before exec. Keep it minimal.

    * Default dispositions for the stop and death signals: ignored signals stay ignored
      across exec (a tradeday started with `cmd &` from a script ignores SIGINT), and the
      engine must die or handle them itself.
    * PR_SET_PDEATHSIG, then getppid(): if tradeday died between fork and prctl, the
      signal will never come, so deliver it ourselves.
    """
    parent_pid = os.getpid()
    signals = {stop_signal} | ({parent_death_signal} if parent_death_signal else set())
    prctl = _PRCTL if parent_death_signal else None

    def setup() -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        if prctl is not None and parent_death_signal:
            if prctl(_PR_SET_PDEATHSIG, parent_death_signal, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), parent_death_signal)
                os._exit(128 + parent_death_signal)

    return setup


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


def spawn_engine(spawner: Spawner, spec: EngineSpec, *, restarts: int, token: str) -> subprocess.Popen[bytes]:
    """Fork and exec one start of ``spec`` from the spawner thread.

    The engine leads a new session (so its pid is its group and session id), reads
    /dev/null, writes to two pipes, and gets TRADEDAY_RESTARTS and the instance token on
    top of its spec's environment. Raises what Popen raises.
    """
    env = dict(spec.env)
    env["TRADEDAY_RESTARTS"] = str(restarts)
    env[TOKEN_VARIABLE] = token
    preexec = _child_setup(spec.stop_signal, spec.parent_death_signal)

    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            preexec_fn=preexec,
        )

    return spawner.call(popen)
