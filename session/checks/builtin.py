"""tradeday's built-in preflight checks. Adding a check: one more decorated function here.

Ids are public (config ``checks.silence``); never renumber them. E = error, W = warning,
I = information.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from session.checks.context import CheckContext
from session.checks.registry import register
from session.checks.results import CheckResult, error, info, warning

if TYPE_CHECKING:
    from session.brokers.kite import KiteCredentials
    from session.calendar import SessionDay


def _rel(ctx: CheckContext, path: Path) -> str:
    try:
        return str(path.relative_to(ctx.config.root_dir))
    except ValueError:
        return str(path)


# --- calendar & clock ---------------------------------------------------------------------------

@register("calendar", tags=("session",))
def check_calendar(ctx: CheckContext) -> list[CheckResult]:
    day = ctx.today
    tzname = ctx.calendar.timezone
    # With --start-now the session is simulated: calendar problems are reported, not fatal.
    fatal = warning if ctx.start_now else error
    from session.calendar import horizon_notice, unknown_fix, unknown_message

    if not day.known:
        return [fatal(
            "calendar.E001",
            unknown_message(day, ctx.calendar.name),
            unknown_fix(day, ctx.config.path),
        )]
    results = _calendar_today(ctx, day, tzname)
    # December: the data ends within checks.calendar_horizon days. Say so while the fix (load
    # next year's list) is easy, not on 1 January, when every precheck fails.
    notice = horizon_notice(ctx.calendar, day.date, ctx.config.checks.calendar_horizon)
    if notice is not None:
        results.append(warning("calendar.W001", notice.message(), notice.hint(ctx.config.path)))
    return results


def _calendar_today(ctx: CheckContext, day: SessionDay, tzname: str) -> list[CheckResult]:
    """What the calendar says about a known day."""
    if not day.is_trading_day:
        why = f"holiday: {day.holiday}" if day.holiday else ("weekend" if day.date.weekday() >= 5 else "exchange closed")
        return [info("calendar.I004", f"no session today ({day.date}, {why})")]
    span = f"{day.open:%H:%M}-{day.close:%H:%M} {tzname}"
    results = []
    if day.special_session:
        results.append(info("calendar.I003", f"special session today: {day.special_session} {span}"))
    elif day.early_close:
        results.append(info("calendar.I002", f"early close today: {span}"))
    else:
        results.append(info("calendar.I001", f"regular session today: {span}"))
    if day.close is not None and ctx.now >= day.close:
        results.append(info("calendar.I005", f"today's session already closed at {day.close:%H:%M} {tzname}"))
    return results


@register("clock", tags=("session",), depends=("kite", "ibkr"))
def check_clock(ctx: CheckContext) -> list[CheckResult]:
    results = []
    window = ctx.config.session.allowed_window
    local = ctx.now.astimezone(ctx.calendar.tz)
    # The end is inclusive to the minute: "23:59" admits 23:59:30.
    inside = window.start <= local.replace(second=0, microsecond=0).time() <= window.end
    span = f"{window.start:%H:%M}-{window.end:%H:%M} {ctx.calendar.timezone}"
    if inside:
        results.append(info("clock.I001", f"market time {local:%H:%M} is inside the allowed window {span}"))
    else:
        fatal = warning if ctx.start_now else error
        results.append(fatal(
            "clock.E001", f"market time {local:%H:%M} is outside the allowed window {span}",
            "check the crontab's timezone (CRON_TZ) or session.allowed_window",
        ))
    limit = ctx.config.checks.max_clock_skew
    for broker in ("kite", "ibkr"):
        server_time = ctx.facts.get(f"{broker}.server_time")
        observed_at = ctx.facts.get(f"{broker}.observed_at")
        if server_time is None or observed_at is None:
            continue
        skew = (observed_at - server_time).total_seconds()
        if abs(skew) > limit:
            results.append(warning(
                "clock.W001",
                f"this machine's clock is {abs(skew):.1f}s {'ahead of' if skew > 0 else 'behind'} the {broker} server",
                "enable NTP (timedatectl set-ntp true / chrony); orders and candles use exchange time",
            ))
        else:
            results.append(info("clock.I002", f"clock within {abs(skew):.1f}s of the {broker} server"))
    return results


# --- config & secrets ---------------------------------------------------------------------------

@register("config", tags=("config",))
def check_config(ctx: CheckContext) -> list[CheckResult]:
    cfg = ctx.config
    results = [info("config.I001", f"{cfg.path} is valid (sha256 {cfg.sha256[:12]}, mode {ctx.mode})")]
    for text in cfg.warnings:
        results.append(warning("config.W001", text, "fix the section name, or ignore if it belongs to the engine"))
    enabled = [e for e in cfg.engines if e.enabled]
    if not enabled:
        where = ("session.engines: (engines: holds kite-algo-minimal's engine options)"
                 if cfg.engine_options is not None else "engines:")
        results.append(error("config.E002", "no engines configured: `run` would have nothing to supervise",
                             f"add an entry under {where} with name and command"))
    if cfg.broker.uses("ibkr") and cfg.broker.ibkr.probe_client_id == cfg.broker.ibkr.client_id:
        results.append(error("config.E003",
                             f"broker.ibkr.probe_client_id equals client_id ({cfg.broker.ibkr.client_id})",
                             "give tradeday's probe its own id so it never takes the engine's"))
    if ctx.mode == "live":
        results.append(warning("config.W002", "mode is LIVE: engines will trade real money"))
    return results


def _kite_credentials(ctx: CheckContext) -> KiteCredentials:
    from session.brokers.kite import load_kite_credentials

    kite = ctx.config.broker.kite
    return load_kite_credentials(ctx.config.resolve(kite.secrets_file), ctx.config.resolve(kite.tokens_file),
                                 ctx.environ)


@register("secrets", tags=("broker",))
def check_secrets(ctx: CheckContext) -> list[CheckResult]:
    if not ctx.config.broker.uses("kite"):
        return [info("secrets.I002", f"no secrets files needed for broker kind '{ctx.config.broker.kind}'")]
    from core.errors import ConfigError
    from session.brokers.kite import file_permission_problem

    try:
        creds = _kite_credentials(ctx)
    except ConfigError as exc:
        return [error("secrets.E003", str(exc.message), exc.hint or "fix the line; format is KEY=VALUE")]
    results = []
    if not creds.api_key:
        results.append(error(
            "secrets.E001", f"no Kite API key: {_rel(ctx, creds.secrets_file)} must hold KITE_API_KEY (or API_KEY)",
            "create the file (chmod 600) or set KITE_API_KEY in the environment",
        ))
    if not creds.access_token:
        results.append(error(
            "secrets.E002",
            f"no Kite access token: {_rel(ctx, creds.tokens_file)} must hold ACCESS_TOKEN (or KITE_ACCESS_TOKEN)",
            "log in to Kite and write today's token there, or set KITE_ACCESS_TOKEN",
        ))
    for f in (creds.secrets_file, creds.tokens_file):
        if f.exists():
            shown = _rel(ctx, f)
            problem = file_permission_problem(f, shown)
            if problem:
                where = f"paths are relative to {ctx.config.root_dir}" if shown != str(f) else ""
                results.append(warning("secrets.W001", f"{shown} is {problem}", where))
    for source in (creds.api_key_source, creds.access_token_source):
        if source in ("env:API_KEY", "env:ACCESS_TOKEN"):
            results.append(warning("secrets.W002", f"Kite credential taken from the generic variable {source[4:]}",
                                   f"prefer KITE_{source[4:]}; a generic name may belong to another service"))
    if not results or all(r.level.name == "WARNING" for r in results):
        results.insert(0, info("secrets.I001",
                               f"Kite API key from {creds.api_key_source}, access token from {creds.access_token_source}"))
    from core import platform

    unchecked = [_rel(ctx, f) for f in (creds.secrets_file, creds.tokens_file) if f.exists()]
    if unchecked and not platform.MODE_BITS:
        # Mode bits do not say who can read a file on Windows (its ACL does): say so, do not pass it.
        results.append(info("secrets.I003", f"who can read {' and '.join(unchecked)} is not checked on Windows",
                            "keep them under your user profile, or restrict them: icacls FILE /inheritance:r "
                            "/grant:r %USERNAME%:R"))
    return results


# --- brokers ------------------------------------------------------------------------------------

def _kite_timeout(ctx: CheckContext) -> float:
    return ctx.config.broker.kite.timeout + 2.0


def _ibkr_timeout(ctx: CheckContext) -> float:
    return ctx.config.broker.ibkr.timeout + 2.0


# No dependency on `secrets`: the probe should start at once, not after pandas has warmed
# up in another thread; reading two small env files twice costs nothing.
@register("kite", tags=("broker", "network"), timeout=_kite_timeout)
def check_kite(ctx: CheckContext) -> list[CheckResult]:
    if not ctx.config.broker.uses("kite"):
        return [info("kite.I002", "broker is not Kite; skipped")]
    from session.brokers.kite import probe_kite, token_file_written_at, token_is_stale

    try:
        creds = _kite_credentials(ctx)
    except Exception:
        creds = None
    if creds is None or not creds.api_key or not creds.access_token:
        return [error("kite.E005", "cannot check the Kite login without an API key and access token",
                      "see the secrets check")]
    # A token written before the most recent 06:00 IST has expired: no network call needed.
    written = token_file_written_at(creds.tokens_file)
    if creds.access_token_source and creds.access_token_source.startswith("file:") and written is not None:
        if token_is_stale(written, ctx.now):
            return [error(
                "kite.E001",
                f"Kite access token is stale: {_rel(ctx, creds.tokens_file)} was written {written:%Y-%m-%d %H:%M} UTC, "
                "before the last 06:00 IST expiry",
                "log in to Kite again and write the new access token",
            )]
    kite = ctx.config.broker.kite
    result = probe_kite(creds.api_key, creds.access_token, root=kite.api_root, timeout=kite.timeout)
    if result.server_time is not None:
        ctx.set_fact("kite.server_time", result.server_time)
        ctx.set_fact("kite.observed_at", datetime.now(UTC))
    if result.status == "ok":
        who = result.user_id or "unknown user"
        return [info("kite.I001", f"Kite login valid for {who} ({result.latency_ms:.0f} ms)")]
    if result.status == "token":
        return [error("kite.E002", result.message, "log in to Kite again and write the new access token")]
    # Network or server trouble is never a pass: an error when trading live, a warning on paper.
    level = error if ctx.mode == "live" else warning
    code = "E003" if ctx.mode == "live" else "W003"
    return [level(f"kite.{code}", f"could not verify the Kite login: {result.message}",
                  "check the network / api.kite.trade status; the token was NOT validated")]


@register("ibkr", tags=("broker", "network"), timeout=_ibkr_timeout)
def check_ibkr(ctx: CheckContext) -> list[CheckResult]:
    cfg = ctx.config.broker
    if not cfg.uses("ibkr"):
        return [info("ibkr.I002", "broker is not IBKR; skipped")]
    from session.brokers.ibkr import probe_ibkr
    from session.guard import ibkr_findings

    ib = cfg.ibkr
    result = probe_ibkr(ib.host, ib.port, ib.probe_client_id, timeout=ib.timeout)
    if result.server_time is not None:
        ctx.set_fact("ibkr.server_time", result.server_time)
        ctx.set_fact("ibkr.observed_at", result.observed_at or datetime.now(UTC))
    hints = {
        "refused": "start TWS or IB Gateway and enable the API (Configure > API > Settings)",
        "timeout": "check 'Enable ActiveX and Socket Clients', trusted IPs, and that the gateway finished logging in",
        "client_id_in_use": "another program uses this client id; change broker.ibkr.probe_client_id",
        "error": "see the message; the connection was NOT verified",
    }
    codes = {"refused": "E001", "timeout": "E002", "client_id_in_use": "E003", "error": "E005"}
    if result.status != "ok":
        return [error(f"ibkr.{codes.get(result.status, 'E005')}", result.message, hints.get(result.status, ""))]
    results = [info("ibkr.I001", f"connected to {ib.host}:{ib.port}, accounts {', '.join(result.accounts) or 'none'} "
                                 f"({result.latency_ms:.0f} ms)")]
    # The account kind against the mode. The ids that prove the wrong kind are the paper/live
    # guard's: `run` enforces them even when this check is disabled (session/guard.py).
    results.extend(ibkr_findings(ctx.mode, ib.port, result.accounts))
    return results


# --- filesystem, engines, notifications, lock ---------------------------------------------------

@register("filesystem", tags=("host",))
def check_filesystem(ctx: CheckContext) -> list[CheckResult]:
    """Every paths.* folder writable and with room; then this config version is recorded (a
    command records only once it knows it can write there: loading a config never writes)."""
    from session.checks.filesystem import inspect_folders, space_results
    from session.config_history import record_quietly

    cfg = ctx.config
    problems, usable = inspect_folders(cfg)
    results = [p.result() for p in problems] + space_results(usable, cfg.checks.min_free_disk)
    if not problems:
        problem = record_quietly(cfg, cfg.config_history_dir)
        if problem:
            results.append(warning("filesystem.W001", problem, "the run goes on; `config history` misses this version"))
    return results


@register("engines", tags=("engines",))
def check_engines(ctx: CheckContext) -> list[CheckResult]:
    from session.engines import command_cwd, command_env, expand_command, resolve_command

    results = []
    for engine in ctx.config.engines:
        if not engine.enabled:
            results.append(info("engines.I002", f"{engine.name}: disabled"))
            continue
        argv = expand_command(engine.command, mode=ctx.mode, config_path=ctx.config.path, day=ctx.today.date)
        res = resolve_command(argv, command_cwd(ctx.config, engine), command_env(ctx.environ, engine))
        if res.ok:
            results.append(info("engines.I001", f"{engine.name}: {res.message}"))
        else:
            results.append(error("engines.E001", f"{engine.name}: {res.message}", res.hint))
    return results


def _notify_timeout(ctx: CheckContext) -> float:
    n = ctx.config.notifications
    return (n.timeout * n.max_attempts + 5.0) if ctx.notify_test else 5.0


@register("notifications", tags=("notifications", "network"), timeout=_notify_timeout)
def check_notifications(ctx: CheckContext) -> list[CheckResult]:
    n = ctx.config.notifications
    if not n.enabled:
        return [info("notifications.I002", "notifications are disabled")]
    if not n.channels:
        return [warning("notifications.W002", "notifications are enabled but no channel is configured",
                        "add a channel under notifications.channels")]
    from session.notify import check_channel_config

    results = []
    for channel in n.channels:
        for problem in check_channel_config(channel):
            results.append(warning("notifications.W001", f"{channel.name}: {problem}",
                                   "fix the channel's settings; alerts would not arrive"))
    if ctx.notify_test:
        from session.notify import send_test

        for r in send_test(n, None, "INFO"):
            if r.ok:
                results.append(info("notifications.I003", f"{r.name}: test message sent ({r.latency_ms:.0f} ms)"))
            else:
                results.append(error("notifications.E001", f"{r.name}: test message failed: {r.error}",
                                     "check the channel's URL/token and network"))
    if not results:
        names = ", ".join(c.label for c in n.channels)
        results.append(info("notifications.I001", f"channels configured: {names}"))
    return results


@register("lock", tags=("session",))
def check_lock(ctx: CheckContext) -> list[CheckResult]:
    from session.lock import lock_holder

    try:
        holder = lock_holder(ctx.config.artifacts_dir, ctx.today.date)
    except OSError as exc:  # the state folder is a file or unreadable: the filesystem check says why
        return [warning("lock.W002", f"cannot read today's lock {exc.filename} "
                                     f"({exc.strerror or exc.__class__.__name__})", "see the filesystem check")]
    if holder is None or (ctx.own_lock and holder == os.getpid()):
        return [info("lock.I001", f"no other tradeday run holds the lock for {ctx.today.date}")]
    return [warning("lock.W001", f"another tradeday run (pid {holder}) holds the lock for {ctx.today.date}",
                    "a second `tradeday run` would exit 6; see `tradeday status`")]


