"""The control channel of a running ``tradeday run``: ``tradeday engine stop|start|restart NAME``.

- ``channel``: where the socket is (``{artifacts}/state/{date}.sock``), the one-line JSON
  protocol, and whether this platform has it (Unix domain sockets; not on Windows yet)
- ``server``: the orchestrator's side: a thread that accepts, checks the peer's uid
  (SO_PEERCRED), hands each request over and answers; it never blocks the supervision loop
- ``client``: what ``tradeday engine`` does (``engine_control``), and "no run in progress"

Only the standard library at module level: ``tradeday engine`` must start fast.
"""
from __future__ import annotations

from session.control.channel import CONTROL_AVAILABLE, ControlUnavailable, socket_path
from session.control.client import ControlOutcome, NoRunInProgress, engine_control

__all__ = ["CONTROL_AVAILABLE", "ControlOutcome", "ControlUnavailable", "NoRunInProgress", "engine_control",
           "socket_path"]
