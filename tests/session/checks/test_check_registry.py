"""The preflight check registry itself: registration, ids and levels, silencing and disabling,
selection by name and by tag, ordering, crashes and timeouts; on fresh registries with real
configs and the real calendar, and `tradeday precheck --tag` through the console script."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import session.checks.registry as registry_module
from core.errors import UsageError
from core.exitcodes import ExitCode
from session.calendar import MarketCalendar
from session.checks import (
    REGISTRY,
    CheckContext,
    CheckRegistry,
    CheckResult,
    Level,
    build_context,
    error,
    info,
    register,
    run_checks,
    warning,
)
from session.checks.registry import registry
from session.config import TradedayConfig, load_config
from tests.conftest import run_tradeday, write_config

NOW = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)  # a Wednesday, 11:30 in Mumbai
BUILTIN_ORDER = ["calendar", "clock", "config", "secrets", "kite", "ibkr", "filesystem", "engines",
                 "notifications", "lock"]


def config_at(folder: Path, checks: str = "{}") -> TradedayConfig:
    path = write_config(folder, f"""
        mode: paper
        market: {{calendar: XNSE}}
        session: {{allowed_window: "00:00-23:59"}}
        checks: {checks}
        """)
    return load_config(path)


@pytest.fixture(scope="module")
def calendar(tmp_path_factory: pytest.TempPathFactory) -> MarketCalendar:
    # Built once: it loads pandas_market_calendars.
    return MarketCalendar.from_market_config(config_at(tmp_path_factory.mktemp("cal")).market)


MakeCtx = Callable[..., CheckContext]


@pytest.fixture
def make_ctx(tmp_path: Path, calendar: MarketCalendar) -> MakeCtx:
    """A context on a fresh config (``checks`` is that section, inline) and the real calendar."""

    def make(checks: str = "{}", mode: str = "paper") -> CheckContext:
        return build_context(config_at(tmp_path, checks), mode, now=NOW, calendar=calendar, environ={})

    return make


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so that checks that hang on it end with the test."""
    event = threading.Event()
    yield event
    event.set()


# --- registration ------------------------------------------------------------------------------

def test_register_keeps_the_function_and_registration_order() -> None:
    reg = CheckRegistry()

    @reg.register("zeta", tags=("a",))
    def zeta(ctx: CheckContext) -> list[CheckResult]:
        return []

    @reg.register("alpha", tags=["b", "a"], depends=["zeta"], timeout=3)
    def alpha(ctx: CheckContext) -> list[CheckResult]:
        return []

    assert zeta.__name__ == "zeta" and callable(alpha)  # the decorator hands the function back
    assert reg.names() == ["zeta", "alpha"] and list(reg) == ["zeta", "alpha"] and len(reg) == 2
    assert "alpha" in reg and "beta" not in reg
    spec = reg["alpha"]
    assert (spec.name, spec.func, spec.tags, spec.depends, spec.timeout) == ("alpha", alpha, ("b", "a"), ("zeta",), 3)
    assert reg.tags_available() == ["a", "b"]
    assert reg.tag_exists("b") and not reg.tag_exists("c")


def test_registering_a_name_again_replaces_the_check_in_its_place() -> None:
    reg = CheckRegistry()
    for name in ("one", "two", "three"):
        reg.register(name)(lambda ctx: [])

    def newer(ctx: CheckContext) -> list[CheckResult]:
        return []

    reg.register("two", tags=("new",))(newer)
    assert reg.names() == ["one", "two", "three"]
    assert reg["two"].func is newer and reg["two"].tags == ("new",)


def test_the_default_registry_and_its_module_level_aliases() -> None:
    import session.checks.builtin  # noqa: F401  (registers the built-in checks)

    assert REGISTRY is registry and registry_module.registry is registry
    assert register == registry.register and run_checks == registry.run_checks
    assert registry.names() == BUILTIN_ORDER
    by_tag = {tag: [n for n in registry if tag in registry[n].tags] for tag in registry.tags_available()}
    assert by_tag["broker"] == ["secrets", "kite", "ibkr"]
    assert by_tag["network"] == ["kite", "ibkr", "notifications"]
    assert by_tag["session"] == ["calendar", "clock", "lock"]


def test_timeouts_come_from_the_check_or_the_config(make_ctx: MakeCtx) -> None:
    reg = CheckRegistry()
    reg.register("fixed", timeout=2.5)(lambda ctx: [])
    reg.register("computed", timeout=lambda ctx: ctx.config.checks.timeout * 2)(lambda ctx: [])
    reg.register("default")(lambda ctx: [])
    ctx = make_ctx("{timeout: 4s}")
    assert [reg[n].timeout_for(ctx) for n in reg] == [2.5, 8.0, 4.0]


# --- results: ids, levels, order ---------------------------------------------------------------

def test_results_keep_ids_levels_and_registry_order(make_ctx: MakeCtx) -> None:
    reg = CheckRegistry()

    @reg.register("slow")
    def slow(ctx: CheckContext) -> list[CheckResult]:
        time.sleep(0.2)  # finishes last, reported first
        return [info("slow.I001", "took a while"), warning("slow.W001", "a warning", "a hint")]

    @reg.register("fast")
    def fast(ctx: CheckContext) -> list[CheckResult]:
        return [error("fast.E001", "broken", "fix it")]

    report = reg.run_checks(make_ctx())
    assert [(r.check, r.id, r.level) for r in report.results] == [
        ("slow", "slow.I001", Level.INFO), ("slow", "slow.W001", Level.WARNING), ("fast", "fast.E001", Level.ERROR)]
    assert report.results[0].duration_ms >= 150 and report.results[2].duration_ms < 150
    assert not report.ok and [r.id for r in report.failures()] == ["fast.E001"]
    data = report.to_json()
    assert data["mode"] == "paper" and data["ok"] is False
    assert data["session"]["date"] == "2026-03-04" and data["session"]["calendar"] == "XNSE"
    assert data["checks"][1] == {"id": "slow.W001", "check": "slow", "level": "WARNING", "message": "a warning",
                                 "hint": "a hint", "duration_ms": data["checks"][1]["duration_ms"],
                                 "silenced": False}


def test_strict_makes_warnings_fail(make_ctx: MakeCtx) -> None:
    reg = CheckRegistry()
    reg.register("w")(lambda ctx: [warning("w.W001", "careful")])
    assert reg.run_checks(make_ctx()).ok
    strict = reg.run_checks(make_ctx(), strict=True)
    assert not strict.ok and [r.id for r in strict.failures()] == ["w.W001"]


def test_silenced_ids_are_reported_but_never_fail(make_ctx: MakeCtx) -> None:
    reg = CheckRegistry()
    reg.register("a")(lambda ctx: [error("a.E001", "known problem"), error("a.E002", "other problem")])
    report = reg.run_checks(make_ctx("{silence: [a.E001]}"))
    assert [(r.id, r.level, r.silenced) for r in report.results] == [
        ("a.E001", Level.ERROR, True), ("a.E002", Level.ERROR, False)]
    assert [r.id for r in report.failures()] == ["a.E002"]
    assert report.to_json()["checks"][0]["silenced"] is True
    only_silenced = reg.run_checks(make_ctx("{silence: [a.E001, a.E002]}"))
    assert only_silenced.ok


def test_disabled_checks_do_not_run(make_ctx: MakeCtx) -> None:
    reg = CheckRegistry()
    ran: list[str] = []
    for name in ("a", "b", "c"):
        reg.register(name)(lambda ctx, name=name: ran.append(name) or [info(f"{name}.I001", "ran")])
    report = reg.run_checks(make_ctx("{disable: [b]}"))
    assert sorted(ran) == ["a", "c"]
    assert [r.check for r in report.results] == ["a", "c"]


# --- selection ---------------------------------------------------------------------------------

def _tagged_registry() -> CheckRegistry:
    reg = CheckRegistry()
    for name, tags in [("cal", ("session",)), ("kite", ("broker", "network")), ("ibkr", ("broker", "network")),
                       ("mail", ("notifications", "network")), ("disk", ("host",))]:
        reg.register(name, tags=tags)(lambda ctx, name=name: [info(f"{name}.I001", "ok")])
    return reg


def test_select_by_name_and_skip() -> None:
    reg = _tagged_registry()
    assert [s.name for s in reg.select()] == ["cal", "kite", "ibkr", "mail", "disk"]
    assert [s.name for s in reg.select(only=["disk", "cal"])] == ["cal", "disk"]  # registry order, not argument order
    assert [s.name for s in reg.select(skip=["kite", "mail"])] == ["cal", "ibkr", "disk"]
    assert [s.name for s in reg.select(disabled=["cal"], skip=["disk"])] == ["kite", "ibkr", "mail"]


def test_select_by_tag_takes_any_of_the_tags_and_narrows_only() -> None:
    reg = _tagged_registry()
    assert [s.name for s in reg.select(tags=["broker"])] == ["kite", "ibkr"]
    assert [s.name for s in reg.select(tags=["network"])] == ["kite", "ibkr", "mail"]
    assert [s.name for s in reg.select(tags=["host", "session"])] == ["cal", "disk"]
    assert [s.name for s in reg.select(tags=["network"], only=["mail", "cal"])] == ["mail"]
    assert [s.name for s in reg.select(tags=["network"], skip=["ibkr"])] == ["kite", "mail"]


def test_unknown_names_and_tags_are_usage_errors() -> None:
    reg = _tagged_registry()
    with pytest.raises(UsageError) as bad_name:
        reg.select(only=["cal", "kiet"])
    assert bad_name.value.message == "unknown check 'kiet'"
    assert bad_name.value.hint == "checks are: cal, kite, ibkr, mail, disk"
    assert bad_name.value.exit_code == ExitCode.USAGE
    with pytest.raises(UsageError, match="unknown check 'nope'"):
        reg.select(skip=["nope"])
    with pytest.raises(UsageError) as bad_tag:
        reg.select(tags=["broker", "brokers"])
    assert bad_tag.value.message == "unknown check tag 'brokers'"
    assert bad_tag.value.hint == "tags are: broker, host, network, notifications, session"


def test_run_checks_runs_only_what_is_selected(make_ctx: MakeCtx) -> None:
    reg = _tagged_registry()
    report = reg.run_checks(make_ctx(), tags=["network"], skip=["mail"])
    assert [r.id for r in report.results] == ["kite.I001", "ibkr.I001"]


# --- crashes, timeouts, dependencies -----------------------------------------------------------

def test_a_check_that_raises_becomes_an_error_result(make_ctx: MakeCtx, isolated_redactor: None) -> None:
    from core.redact import GLOBAL_REDACTOR

    GLOBAL_REDACTOR.add("hunter2secret")
    reg = CheckRegistry()

    @reg.register("broken")
    def broken(ctx: CheckContext) -> list[CheckResult]:
        raise RuntimeError("password hunter2secret rejected")

    reg.register("fine")(lambda ctx: [info("fine.I001", "ok")])
    report = reg.run_checks(make_ctx())
    crash, fine = report.results
    assert (crash.id, crash.check, crash.level) == ("broken.E999", "broken", Level.ERROR)
    assert crash.message.startswith("check crashed: RuntimeError: password ")
    assert "hunter2secret" not in crash.message
    assert crash.hint == "this is a bug in the check; please report it"
    assert fine.id == "fine.I001" and not report.ok


def test_a_check_that_hangs_becomes_an_error_after_its_timeout(make_ctx: MakeCtx, release: threading.Event) -> None:
    reg = CheckRegistry()

    @reg.register("hangs", timeout=0.3)
    def hangs(ctx: CheckContext) -> list[CheckResult]:
        release.wait(30)
        return [info("hangs.I001", "too late")]

    reg.register("quick")(lambda ctx: [info("quick.I001", "ok")])
    t0 = time.monotonic()
    report = reg.run_checks(make_ctx())
    assert time.monotonic() - t0 < 3
    hung, quick = report.results
    assert (hung.id, hung.level, hung.check) == ("hangs.E998", Level.ERROR, "hangs")
    assert hung.message == "check did not finish within 0.3s" and hung.duration_ms == 300
    assert quick.id == "quick.I001"


def test_a_dependency_runs_first_and_passes_facts_on(make_ctx: MakeCtx) -> None:
    reg = CheckRegistry()
    seen: dict[str, object] = {}

    @reg.register("reader", depends=("writer",))
    def reader(ctx: CheckContext) -> list[CheckResult]:
        seen["fact"] = ctx.facts.get("writer.value")
        return [info("reader.I001", "read")]

    @reg.register("writer")
    def writer(ctx: CheckContext) -> list[CheckResult]:
        time.sleep(0.1)
        ctx.set_fact("writer.value", 42)
        return [info("writer.I001", "wrote")]

    report = reg.run_checks(make_ctx())
    assert seen["fact"] == 42
    assert [r.id for r in report.results] == ["reader.I001", "writer.I001"]  # still registry order
    seen.clear()
    alone = reg.run_checks(make_ctx(), only=["reader"])  # a dependency not selected is not waited for
    assert seen["fact"] is None and [r.id for r in alone.results] == ["reader.I001"]


# --- `tradeday precheck --tag` -----------------------------------------------------------------

def _cli_config(tmp_path: Path) -> Path:
    return write_config(tmp_path, """
        mode: paper
        market: {calendar: XNSE}
        session: {allowed_window: "00:00-23:59"}
        engines: [{name: e, command: ["true"]}]
        checks: {min_free_disk: 1MiB}
        """)


def test_precheck_tag_runs_the_tagged_checks(tmp_path: Path, cli_home: Path) -> None:
    cfg = _cli_config(tmp_path)
    proc = run_tradeday(["precheck", "-c", str(cfg), "--json", "--tag", "broker"], cwd=cli_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert [c["id"] for c in data["checks"]] == ["secrets.I002", "kite.I002", "ibkr.I002"]

    both = run_tradeday(["precheck", "-c", str(cfg), "--json", "--tag", "session,host", "--tag", "config"],
                        cwd=cli_home)
    assert both.returncode == 0, both.stdout + both.stderr
    # One check may report more than one result (calendar.W001 in December): compare the checks.
    assert list(dict.fromkeys(c["check"] for c in json.loads(both.stdout)["checks"])) == [
        "calendar", "clock", "config", "filesystem", "lock"]

    narrowed = run_tradeday(["precheck", "-c", str(cfg), "--json", "--tag", "network", "--only", "ibkr,lock"],
                            cwd=cli_home)
    assert narrowed.returncode == 0, narrowed.stdout + narrowed.stderr
    assert {c["check"] for c in json.loads(narrowed.stdout)["checks"]} == {"ibkr"}


def test_precheck_unknown_tag_exits_2_and_lists_the_tags(tmp_path: Path, cli_home: Path) -> None:
    proc = run_tradeday(["precheck", "-c", str(_cli_config(tmp_path)), "--tag", "brokers"], cwd=cli_home)
    assert proc.returncode == ExitCode.USAGE
    assert "unknown check tag 'brokers'" in proc.stderr
    assert "tags are: broker, config, engines, host, network, notifications, session" in proc.stderr
    assert proc.stdout == ""


def test_precheck_help_names_every_builtin_tag(cli_home: Path) -> None:
    import session.checks.builtin  # noqa: F401

    proc = run_tradeday(["precheck", "--help"], cwd=cli_home, env={"COLUMNS": "200"})
    assert proc.returncode == 0
    assert "--tag" in proc.stdout
    text = " ".join(proc.stdout.split())
    for tag in registry.tags_available():
        assert tag in text, tag
