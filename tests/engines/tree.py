"""A process tree for tests of session/proctree.py: a leader and members of chosen kinds.

usage: tree.py [--leader BEHAVIOUR] [KIND:BEHAVIOUR ...]
  KIND       child      a direct child of the leader (its group and session)
             orphan     a grandchild whose parent exited: re-parented, still in the group
             escaped    a grandchild that called setsid() and was re-parented (double fork):
                        neither a descendant nor in the group; only its token finds it
             anonymous  like escaped, with TRADEDAY_ENGINE_INSTANCE removed: undiscoverable
  BEHAVIOUR  polite     SIGTERM's default action (dies of it)
             stubborn   ignores SIGTERM: only SIGKILL stops it
             counter    blocks SIGTERM and SIGRTMIN..+3 and takes them one by one (sigwaitinfo),
                        writing a line "<signal number>" per delivery to $TREE_COUNTS/<pid>:
                        real-time signals are queued, so each one sent counts, in kernel order
             forker     (leader only) on SIGTERM forks a child that ignores SIGTERM, writes
                        its pid to $TREE_COUNTS/forked, and then exits 0

Each process prints "tree <kind>:<behaviour> <pid>" once set up (signal dispositions
included); the leader ("tree leader:<behaviour> <pid>") prints "tree ready" after all of them.
"""
import os
import signal
import subprocess
import sys
import time

MEMBER = r"""
import os, signal, sys, time
kind, behaviour, ready = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind in ("orphan", "escaped", "anonymous"):
    if kind != "orphan":
        os.setsid()
    if os.fork():
        os._exit(0)
sys.path.insert(0, sys.argv[4])
import tree
tree.behave(behaviour, f"{kind}:{behaviour}")
os.close(ready)
tree.idle(behaviour)
"""

COUNTED = {signal.SIGTERM, *range(signal.SIGRTMIN, signal.SIGRTMIN + 4)}


def say(line: str) -> None:
    """One write per line: members write to the same pipe at the same time, and print() may
    split a line into two writes that interleave with another process's."""
    os.write(1, f"{line}\n".encode())


def _count(path: str) -> None:
    """One line per signal taken. Not handlers: a handler can be interrupted by the next
    signal before it writes, which would reverse the order."""
    while True:
        number = signal.sigwaitinfo(COUNTED).si_signo
        with open(path, "a", encoding="ascii") as fh:
            fh.write(f"{number}\n")


def behave(behaviour: str, label: str) -> None:
    """Set this process's signal dispositions, then say so."""
    if behaviour == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    elif behaviour == "counter":
        signal.pthread_sigmask(signal.SIG_BLOCK, COUNTED)
    elif behaviour == "forker":
        signal.signal(signal.SIGTERM, _fork_and_exit)
    elif behaviour != "polite":
        raise SystemExit(f"unknown behaviour {behaviour}")
    say(f"tree {label} {os.getpid()}")


def idle(behaviour: str) -> None:
    if behaviour == "counter":
        _count(os.path.join(os.environ["TREE_COUNTS"], str(os.getpid())))
    while True:
        time.sleep(1)


def _fork_and_exit(signum: int, frame: object) -> None:
    # The child inherits SIG_IGN at fork: it ignores SIGTERM from its first instruction.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        with open(os.path.join(os.environ["TREE_COUNTS"], "forked"), "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
        while True:
            time.sleep(1)
    os._exit(0)


def main() -> None:
    args = sys.argv[1:]
    leader = "polite"
    if args[:1] == ["--leader"]:
        leader, args = args[1], args[2:]
    # Members report "set up" by closing their copy of this pipe: EOF once all of them did.
    ready_read, ready_write = os.pipe()
    here = os.path.dirname(os.path.abspath(__file__))
    for member in args:
        kind, behaviour = member.split(":")
        env = dict(os.environ)
        if kind == "anonymous":
            env.pop("TRADEDAY_ENGINE_INSTANCE", None)
        proc = subprocess.Popen(
            [sys.executable, "-c", MEMBER, kind, behaviour, str(ready_write), here], env=env, pass_fds=(ready_write,)
        )
        if kind != "child":
            proc.wait()  # the middle process: its child is re-parented once it is gone
    os.close(ready_write)
    while os.read(ready_read, 1):
        pass
    behave(leader, f"leader:{leader}")
    say("tree ready")
    idle(leader)


if __name__ == "__main__":
    main()
