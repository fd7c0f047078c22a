"""A fork server for the suite's `tradeday` runs: one pre-imported interpreter per test worker
that forks a real process for each run, instead of exec'ing the console script.

Why: a `tradeday` process spends 0.3-0.5 s of CPU importing typer, pydantic and the config
models before it does anything, and 1-1.5 s when it also loads numpy, pandas, Jinja and
matplotlib for a report. The suite starts over a thousand of them; on two cores that import
time was most of its three minutes. A child forked from an interpreter that has already
imported those modules starts in milliseconds and is otherwise the run cron makes: its own
pid, fds 0-2 the caller's pipes, the caller's environment, working directory and umask, fresh
signal dispositions, `cli.main:main` called as the console script calls it, the exit status
read by `waitpid`. The server itself never runs a command, so each child starts from
"modules imported", exactly what a fresh process reaches after its imports.

What a fork cannot give, and where `run_tradeday` execs the script instead (tests/conftest.py):
a different interpreter start-up (any PYTHON*, locale, LD_PRELOAD/libfaketime variable that
differs from the server's), another user, or a test that asks for a fresh process
(``fresh=True``: start-up time and "which modules a command imports" tests).
``TRADEDAY_TEST_EXEC=1`` runs every test the old way.

Protocol (AF_UNIX SOCK_SEQPACKET, one connection per run): the client sends a JSON request
(argv, env, cwd, umask) with its three fds attached (SCM_RIGHTS); the server answers
``{"pid": N}`` once forked and ``{"returncode": R}`` once `waitpid` has it (negative for a
signal, as subprocess reports it).

Run as a script: ``python tests/forkserver.py SOCKET_PATH``; prints ``ready`` when it serves.
"""
from __future__ import annotations

import atexit
import importlib
import io
import json
import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

# What a `tradeday` run imports on its busiest paths (report, run, eod, precheck with
# brokers). Modules that import their heavy libraries inside functions are warmed by importing
# those libraries here; nothing is called.
WARM = [
    "cli.main",
    "session.day", "session.eod", "session.eod.pipeline", "session.checks", "session.brokers",
    "session.notify", "session.supervisor", "session.streaming", "session.config",
    "session.calendar", "reports.render", "reports.pnl", "reports.journal", "reports.chart",
    "numpy", "pandas", "pandas_market_calendars", "jinja2", "requests", "psutil",
    "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.dates",
    "ib_async", "kiteconnect", "ruamel.yaml", "yaml", "rich.console",
]

# Variables read while an interpreter starts (its flags, locale and stdio encoding, the
# dynamic loader, libfaketime): a run whose environment differs from the server's in any of
# them must be a fresh exec, as a fork has already started.
STARTUP_PREFIXES = ("PYTHON", "LC_", "LD_", "FAKETIME", "DONT_FAKE", "MALLOC")
STARTUP_NAMES = ("LANG", "LANGUAGE")
# Start-up variables a fork can honour anyway: bytecode goes where the server put it.
IGNORED = ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def startup_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items()
            if (k.startswith(STARTUP_PREFIXES) or k in STARTUP_NAMES) and k not in IGNORED}


def _warm() -> list[str]:
    failed = []
    for name in WARM:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional library: its runs import it themselves
            failed.append(name)
    return failed


def _reset_signals() -> None:
    """The dispositions a freshly started Python has."""
    for sig in range(1, signal.NSIG):
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # Python ignores it; writes get EPIPE
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _stdio(env: dict[str, str]) -> None:
    """sys.stdin/stdout/stderr over the new fds 0-2, as interpreter start-up builds them."""
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        old = getattr(sys, name)
        tty = os.isatty(fd)
        if fd == 0:
            raw: Any = open(0, "rb", buffering=-1, closefd=False)
            stream = io.TextIOWrapper(raw, encoding=old.encoding, errors=old.errors,
                                      line_buffering=False)
        else:
            raw = open(fd, "wb", buffering=0 if unbuffered else -1, closefd=False)
            stream = io.TextIOWrapper(raw, encoding=old.encoding, errors=old.errors,
                                      line_buffering=tty or fd == 2 or unbuffered,
                                      write_through=unbuffered or fd == 2)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _exit_status(code: object) -> int:
    """What `sys.exit(code)` makes the process's status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(request: dict[str, Any], fds: list[int], keep_out: list[socket.socket]) -> None:
    """In the forked child: become the run, then exit without returning to the server loop."""
    status = 70
    try:
        for sock in keep_out:  # the server's sockets: never close them from here (see below)
            sock.detach()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        # A fresh exec has only fds 0-2 (subprocess closes the rest); the server's objects
        # that owned the others are never finalised (os._exit below), so none closes a
        # number the run has reused.
        os.closerange(3, 65536)
        _reset_signals()
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.umask(request["umask"])
        os.chdir(request["cwd"])
        sys.argv = list(request["argv"])
        sys.path[0] = os.path.dirname(request["argv"][0])  # the console script's folder
        _stdio(request["env"])
        if request.get("script"):  # tests/test_forkserver.py's probe of what a child is given
            import runpy

            def main() -> None:
                runpy.run_path(request["script"], run_name="__main__")
        else:
            from cli.main import main
        try:
            status = _exit_status(main())
        except SystemExit as stop:
            status = _exit_status(stop.code)
        except KeyboardInterrupt:
            _finish()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)  # Python dies of an uncaught SIGINT so
        except BaseException:
            import traceback

            traceback.print_exc()
            status = 1
        status = _finish(status)
    finally:
        os._exit(status)


def _finish(status: int = 0) -> int:
    """Interpreter shutdown's user-visible part: join threads, atexit, flush stdio."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # what Py_Finalize calls first
    except Exception:
        pass
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            status = 120  # Python's status when flushing stdout fails at exit
    return status


def serve(path: str) -> None:
    failed = _warm()
    if threading.active_count() != 1:  # forking a threaded process is unsafe: refuse
        print(f"threads after warm-up: {threading.enumerate()}", file=sys.stderr)
        sys.exit(2)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)  # EOF: the test worker has gone
    print("ready" + (f" (not warmed: {', '.join(failed)})" if failed else ""), flush=True)
    conns: dict[int, socket.socket] = {}
    running: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    while True:
        for key, _ in selector.select():
            obj = key.fileobj
            if obj is sys.stdin:
                if not os.read(0, 4096):
                    return
            elif obj is listener:
                conn, _addr = listener.accept()
                conns[conn.fileno()] = conn
                selector.register(conn, selectors.EVENT_READ)
            elif isinstance(obj, socket.socket):
                conn = obj
                selector.unregister(conn)
                msg, fds, _flags, _addr = socket.recv_fds(conn, 1 << 20, 3)
                if not msg or len(fds) != 3:
                    conn.close()
                    conns.pop(key.fd, None)
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(json.loads(msg), fds, [listener, conn, *conns.values(),
                                                  *(c for _p, c in running.values())])
                for fd in fds:
                    os.close(fd)
                conn.send(json.dumps({"pid": pid}).encode())
                pidfd = os.pidfd_open(pid)
                running[pidfd] = (pid, conn)
                selector.register(pidfd, selectors.EVENT_READ)
            else:
                pidfd = key.fd
                selector.unregister(pidfd)
                pid, conn = running.pop(pidfd)
                os.close(pidfd)
                _pid, wstatus = os.waitpid(pid, 0)
                try:
                    conn.send(json.dumps({"returncode": os.waitstatus_to_exitcode(wstatus)}).encode())
                except OSError:
                    pass  # the client gave up (a timeout) and closed its end
                conns.pop(conn.fileno(), None)
                conn.close()


class ForkClient:
    """The test worker's side: starts the server on first use, runs a command through it."""

    def __init__(self, server_cwd: str) -> None:
        self._cwd = server_cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._path = ""
        self._startup: dict[str, str] = {}
        self._broken = os.environ.get("TRADEDAY_TEST_EXEC") == "1" or not hasattr(os, "fork")
        self._lock = threading.Lock()

    def usable(self, env: dict[str, str]) -> bool:
        with self._lock:
            if self._broken:
                return False
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return not self._broken and startup_env(env) == self._startup

    def _start(self) -> None:
        folder = tempfile.mkdtemp(prefix="tradeday-fork-")
        self._path = os.path.join(folder, "socket")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDAY_")}
        self._startup = startup_env(env)
        self._proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), self._path],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                      cwd=self._cwd)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith(b"ready"):
            self._broken = True  # every run execs the script, as before
        atexit.register(self.close)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def _send(self, argv: list[str], env: dict[str, str], cwd: str | None, fds: list[int],
              script: str | None = None) -> tuple[socket.socket, int]:
        """Ask for a run with ``fds`` as its 0-2; the connection (for its exit) and its pid."""
        umask = os.umask(0)
        os.umask(umask)
        request = {"argv": argv, "env": env, "cwd": cwd or os.getcwd(), "umask": umask,
                   "script": script}
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(self._path)
            socket.send_fds(sock, [json.dumps(request).encode()], fds)
            pid = json.loads(sock.recv(4096))["pid"]
        except BaseException:
            sock.close()
            raise
        return sock, pid

    def run(self, argv: list[str], env: dict[str, str], cwd: str | None, timeout: float,
            input: str | None, script: str | None = None) -> subprocess.CompletedProcess[str]:
        """subprocess.run(argv, capture_output=True, text=True, ...) through the server: argv
        is the console script's; ``script`` runs that file instead of `cli.main:main`."""
        encoding = locale.getpreferredencoding(False)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r = in_w = -1
        if input is not None:
            in_r, in_w = os.pipe()
            stdin = in_r
        else:
            stdin = 0 if _valid_fd(0) else os.open(os.devnull, os.O_RDONLY)
        try:
            sock, pid = self._send(argv, env, cwd, [stdin, out_w, err_w], script)
        finally:
            for fd in (out_w, err_w, in_r):
                if fd >= 0:
                    os.close(fd)
            if input is None and stdin != 0:
                os.close(stdin)
        with sock:
            try:
                out, err = _communicate(out_r, err_r, in_w, (input or "").encode(encoding),
                                        time.monotonic() + timeout)
            except subprocess.TimeoutExpired as expired:
                os.kill(pid, signal.SIGKILL)
                sock.recv(4096)  # the server has reaped it
                raise subprocess.TimeoutExpired(argv, timeout, _text(expired.output, encoding),
                                                _text(expired.stderr, encoding)) from None
            returncode = json.loads(sock.recv(4096))["returncode"]
        return subprocess.CompletedProcess(argv, returncode, _text(out, encoding),
                                           _text(err, encoding))

    def popen(self, argv: list[str], env: dict[str, str], cwd: str | None, *,
              stdin: Any = None, stdout: Any = None, stderr: Any = None) -> ForkedProcess:
        """subprocess.Popen(argv, text=True, ...) through the server (see ForkedProcess)."""
        return ForkedProcess(self, argv, env, cwd, stdin, stdout, stderr)


class ForkedProcess:
    """The part of subprocess.Popen (text mode) the tests use, for a run the server forked:
    ``pid``, ``args``, ``stdout``/``stderr`` (text, universal newlines, when PIPE),
    ``returncode``, ``poll``, ``wait``, ``communicate``, ``send_signal``, ``terminate``, ``kill``,
    and ``with``. Its parent is the server, which reports its exit."""

    def __init__(self, client: ForkClient, argv: list[str], env: dict[str, str], cwd: str | None,
                 stdin: Any, stdout: Any, stderr: Any) -> None:
        self.args = argv
        self.returncode: int | None = None
        self._encoding = locale.getpreferredencoding(False)
        self._out: dict[int, list[bytes]] = {}
        opened: list[int] = []  # the child's ends, closed here once it has them
        ours: list[int | None] = [None, None, None]

        def target(spec: Any, index: int) -> int:
            if spec is None:
                return index if _valid_fd(index) else target(subprocess.DEVNULL, index)
            if spec == subprocess.DEVNULL:
                fd = os.open(os.devnull, os.O_RDWR)
                opened.append(fd)
                return fd
            if spec == subprocess.PIPE:
                r, w = os.pipe()
                child, mine = (r, w) if index == 0 else (w, r)
                opened.append(child)
                ours[index] = mine
                return child
            if spec == subprocess.STDOUT and index == 2:
                return fds[1]
            return spec if isinstance(spec, int) else spec.fileno()

        fds: list[int] = []
        for index, spec in enumerate((stdin, stdout, stderr)):
            fds.append(target(spec, index))
        try:
            self._sock, self.pid = client._send(argv, env, cwd, fds)
        finally:
            for fd in opened:
                os.close(fd)
        self.stdin = None if ours[0] is None else open(ours[0], "w", encoding=self._encoding)
        self.stdout = None if ours[1] is None else open(ours[1], encoding=self._encoding)
        self.stderr = None if ours[2] is None else open(ours[2], encoding=self._encoding)
        self._pipes = (ours[1], ours[2])
        for fd in self._pipes:
            if fd is not None:
                self._out[fd] = []

    def _status(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            self._sock.settimeout(timeout)
            try:
                msg = self._sock.recv(4096)
            except (BlockingIOError, TimeoutError):
                return None
            self.returncode = json.loads(msg)["returncode"]
            self._sock.close()
        return self.returncode

    def poll(self) -> int | None:
        return self._status(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, input: str | None = None, timeout: float | None = None) -> tuple[str | None, str | None]:
        """Read the pipes to EOF and wait; on a timeout what was read is kept for the next call,
        as Popen does (it reads the fds directly too, past anything the text wrappers hold)."""
        if self.stdin is not None:
            if input:
                self.stdin.write(input)
            self.stdin.close()
            self.stdin = None
        deadline = None if timeout is None else time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        for fd, stream in zip(self._pipes, (self.stdout, self.stderr), strict=True):
            if fd is not None and stream is not None and not stream.closed:
                sel.register(fd, selectors.EVENT_READ, stream)
        try:
            while sel.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in sel.select(left):
                    block = os.read(key.fd, 65536)
                    if block:
                        self._out[key.fd].append(block)
                    else:
                        sel.unregister(key.fd)
                        key.data.close()
        finally:
            sel.close()
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        self.wait(left)
        out, err = (None if fd is None else _text(b"".join(self._out[fd]), self._encoding)
                    for fd in self._pipes)
        return out, err

    def __enter__(self) -> ForkedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self.stdout, self.stderr, self.stdin):
            if stream is not None and not stream.closed:
                stream.close()
        if self.returncode is None:
            self.wait()


def _valid_fd(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _text(data: bytes | None, encoding: str) -> str:
    """What subprocess's text mode makes of captured bytes (universal newlines)."""
    if data is None:
        return ""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def _communicate(out_r: int, err_r: int, in_w: int, data: bytes,
                 deadline: float) -> tuple[bytes, bytes]:
    """Read both pipes to EOF (and feed stdin) before ``deadline``, as Popen.communicate does."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ)
    sel.register(err_r, selectors.EVENT_READ)
    view = memoryview(data)
    if in_w >= 0:
        if data:
            os.set_blocking(in_w, False)
            sel.register(in_w, selectors.EVENT_WRITE)
        else:
            os.close(in_w)
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired([], 0, b"".join(chunks[out_r]),
                                                b"".join(chunks[err_r]))
            for key, _ in sel.select(left):
                fd = key.fd
                if fd == in_w:
                    try:
                        view = view[os.write(in_w, view[:65536]):]
                    except BrokenPipeError:
                        view = view[:0]
                    if not view:
                        sel.unregister(in_w)
                        os.close(in_w)
                    continue
                block = os.read(fd, 65536)
                if block:
                    chunks[fd].append(block)
                else:
                    sel.unregister(fd)
                    os.close(fd)
    finally:
        for key in list(sel.get_map().values()):
            os.close(key.fd)
        sel.close()
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])


if __name__ == "__main__":
    # Run as a script, sys.path[0] is tests/ (whose session/, reports/ test packages would
    # shadow the product's); the console script's is its own folder, the venv's bin.
    sys.path[0] = os.path.dirname(sys.executable)
    serve(sys.argv[1])
