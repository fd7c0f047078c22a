"""Configuration: seed files, errors with file:line, interpolation, paths, versioning, exit codes."""
from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

import pytest

from core.durations import format_duration, parse_duration, parse_time_of_day
from core.errors import ConfigError, UsageError
from core.redact import GLOBAL_REDACTOR
from session.config import ConfigManager, load_config, masked_data, parse_size
from session.modes import resolve_mode
from tests.conftest import REPO, assert_no_secrets, run_tradeday, write_config

FIXTURES = REPO / "tests" / "fixtures"


def test_copilot_seed_loads_unchanged() -> None:
    cfg = load_config(FIXTURES / "seed_copilot.yaml")
    assert cfg.mode == "paper"
    assert cfg.market.calendar == "XNYS"  # inferred from schedule.timezone America/New_York
    assert cfg.broker.kind == "ibkr" and cfg.broker.ibkr.port == 7497 and cfg.broker.ibkr.host == "127.0.0.1"
    assert cfg.notifications.enabled and cfg.notifications.channels[0].type == "slack"
    # engine-owned sections pass through untouched
    extra = cfg.engine_owned_sections()
    assert extra["strategy"]["symbols"] == ["AAPL", "MSFT"]
    assert extra["risk"]["circuit_breaker_threshold"] == 0.10
    assert extra["schedule"] == {"timezone": "America/New_York", "auto_start": True, "auto_stop": True}
    assert cfg.warnings == []


def test_kite_seed_loads_unchanged_and_sets_nse_hours() -> None:
    cfg = load_config(FIXTURES / "seed_kite.yaml")
    assert cfg.market.calendar == "XNSE"
    assert cfg.market.hours is not None
    assert (cfg.market.hours.open, cfg.market.hours.close) == (time(9, 15), time(15, 30))
    assert cfg.broker.kind == "kite"
    assert cfg.engine_owned_sections()["trading"]["exchange"] == "NSE"


def test_dev_config_is_valid_and_paper() -> None:
    cfg = load_config(REPO / "configs" / "dev.yaml")
    assert cfg.mode == "paper" and cfg.broker.kind == "none"
    assert cfg.artifacts_dir == REPO / "artifacts" / "dev"  # issue 12: each example config has its own folder


@pytest.mark.parametrize("name", ["india.example.yaml", "us.example.yaml"])
def test_example_configs_are_valid(name: str) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123456:ABCdefGhIJKlmnoPQRstu", "TELEGRAM_CHAT_ID": "42",
           "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXXSECRET"}
    cfg = load_config(REPO / "configs" / name, environ=env)
    assert cfg.mode == "paper"


def test_error_names_file_line_and_key_path(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
        mode: paper
        broker:
          kind: ibkr
          ibkr:
            host: 127.0.0.1
            port: seven
        """)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}:6 broker.ibkr.port: must be an integer")
    assert exc.value.exit_code == 3


def test_unknown_key_inside_section_is_error_with_suggestion(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
        session:
          start_before_open: 5m
          stop_after_clse: 1m
        """)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert f"{path}:3 session.stop_after_clse: unknown key (did you mean 'stop_after_close'?)" in str(exc.value)


def test_typo_of_top_level_section_is_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
        mode: paper
        notificatons:
          enabled: true
        strategy: {a: 1}
        """)
    cfg = load_config(path)
    assert len(cfg.warnings) == 1
    assert f"{path}:2" in cfg.warnings[0] and "did you mean 'notifications'" in cfg.warnings[0]
    assert cfg.engine_owned_sections()["notificatons"] == {"enabled": True}


def test_engine_errors_point_at_list_items(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
        engines:
          - name: a
            command: [echo, hi]
          - name: b
            command: [echo, "{when}"]
        """)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert f"{path}:5 engines[1].command: unknown placeholder {{when}}" in str(exc.value)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "mode: paper\nmarket:\n  calendar: [XNYS\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}:") and "YAML syntax" in str(exc.value)


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "nope.yaml")
    assert "config file not found" in str(exc.value)


def test_interpolation_defaults_and_secret_registration(tmp_path: Path) -> None:
    secret = "xoxb-very-secret-token-123"
    path = write_config(tmp_path, """
        notifications:
          enabled: true
          channels:
            - type: webhook
              url: "https://example.invalid/hook/${HOOK_TOKEN}"
              secret: ${HMAC_SECRET:-fallback-secret-value}
        broker:
          kind: ibkr
          ibkr: {host: "${IB_HOST:-127.0.0.1}", port: 4002}
        strategy:
          note: "${NOT_INTERPOLATED}"
        """)
    cfg = load_config(path, environ={"HOOK_TOKEN": secret})
    assert cfg.notifications.channels[0].url.endswith(secret)
    assert cfg.broker.ibkr.host == "127.0.0.1"
    # engine-owned sections are passed through untouched, placeholders and all
    assert cfg.engine_owned_sections()["strategy"]["note"] == "${NOT_INTERPOLATED}"
    assert secret not in GLOBAL_REDACTOR(f"url={secret}")
    shown = json.dumps(masked_data(cfg))
    assert_no_secrets(shown, [secret, "fallback-secret-value"])


def test_missing_variable_names_it_without_values(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
        notifications:
          enabled: true
          channels:
            - type: slack
              webhook_url: ${SLACK_URL}
        """)
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={"OTHER": "x"})
    assert f"{path}:5" in str(exc.value) and "environment variable SLACK_URL is not set" in str(exc.value)


def test_relative_paths_follow_the_config_not_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write_config(sub, """
        root: ..
        paths: {artifacts: data/art, logs: /var/tmp/td-logs}
        """)
    monkeypatch.chdir("/")
    cfg = load_config(path)
    assert cfg.root_dir == tmp_path.resolve()
    assert cfg.artifacts_dir == tmp_path.resolve() / "data" / "art"
    assert cfg.state_dir == tmp_path.resolve() / "data" / "art" / "state"
    assert cfg.logs_dir == Path("/var/tmp/td-logs")
    no_root = write_config(sub, "mode: paper\n", name="plain.yaml")
    assert load_config(no_root).artifacts_dir == sub.resolve() / "artifacts"


def test_durations_times_sizes() -> None:
    assert parse_duration("30s") == 30 and parse_duration("5m") == 300
    assert parse_duration("1h30m") == 5400 and parse_duration("0.2s") == pytest.approx(0.2)
    assert parse_duration(12) == 12 and parse_duration("250ms") == pytest.approx(0.25)
    for bad in ("5 minutes", "-3", "", "1x", True):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert format_duration(5400) == "1h30m" and format_duration(0.2) == "0.2s"
    assert parse_time_of_day("09:15") == time(9, 15)
    assert parse_time_of_day(555) == time(9, 15)  # YAML 1.1 sexagesimal 09:15
    with pytest.raises(ValueError):
        parse_time_of_day("25:00")
    assert parse_size("1GiB") == 1024**3 and parse_size("500MB") == 500 * 1000**2 and parse_size(10) == 10


def test_duration_errors_are_friendly(tmp_path: Path) -> None:
    path = write_config(tmp_path, "session:\n  start_before_open: soon\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert f"{path}:2 session.start_before_open: 'soon' is not a duration" in str(exc.value)


def test_market_overrides_parse(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
        market:
          calendar: XNSE
          hours: {open: "09:15", close: "15:30"}
          extra_holidays: {2027-01-26: Republic Day}
          special_sessions:
            2027-02-01: {open: "09:15", close: "15:30", name: Budget Day}
        """)
    cfg = load_config(path)
    assert cfg.market.extra_holidays == {date(2027, 1, 26): "Republic Day"}
    assert cfg.market.special_sessions[date(2027, 2, 1)].name == "Budget Day"


def test_paper_trading_flag_must_agree_with_mode(tmp_path: Path) -> None:
    path = write_config(tmp_path, "mode: paper\nbroker: {broker_type: ibkr, port: 7496, paper_trading: false}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert "contradicts mode: paper" in str(exc.value)


def test_live_guard() -> None:
    assert resolve_mode("paper", None) == "paper"
    assert resolve_mode("live", "paper") == "paper"
    with pytest.raises(UsageError, match="paper config never goes live"):
        resolve_mode("paper", "live", confirm_live=True)
    with pytest.raises(UsageError, match="does not"):
        resolve_mode("live", None, confirm_live=True)
    with pytest.raises(UsageError, match="confirmation"):
        resolve_mode("live", "live", environ={})
    assert resolve_mode("live", "live", confirm_live=True, environ={}) == "live"
    assert resolve_mode("live", "live", environ={"TRADEDAY_CONFIRM_LIVE": "yes"}) == "live"
    assert resolve_mode("live", None, require_confirmation=False) == "live"


def test_versioning_and_config_manager(tmp_path: Path) -> None:
    path = write_config(tmp_path, "mode: paper\nstrategy: {x: 1}\n")
    manager = ConfigManager(path)
    first = manager.load()
    versions = manager.list_versions()
    assert [v["sha256"] for v in versions] == [first.sha256]
    assert versions[0]["sources"] == [str(path.resolve())]
    snapshot = first.config_history_dir / f"{first.sha256}.yaml"
    assert snapshot.read_text() == path.read_text() and (snapshot.stat().st_mode & 0o077) == 0
    path.write_text("mode: paper\nstrategy: {x: 2}\n")
    second = manager.reload()
    assert second.sha256 != first.sha256
    assert {v["sha256"] for v in manager.list_versions()} == {first.sha256, second.sha256}
    saved = manager.save(second)
    assert load_config(saved).engine_owned_sections()["strategy"] == {"x": 2}


def test_cli_config_history_show_and_diff_mask_secrets(tmp_path: Path, cli_home: Path) -> None:
    secret = "https://hooks.slack.com/services/T1/B2/SUPERSECRETxyz"
    path = write_config(tmp_path, f"""
        mode: paper
        notifications:
          enabled: true
          channels:
            - type: slack
              webhook_url: "{secret}"
        """)
    r1 = run_tradeday(["config", "validate", "-c", str(path)], cwd=cli_home)
    assert r1.returncode == 0, r1.stderr
    path.write_text(path.read_text().replace("enabled: true", "enabled: false"))
    assert run_tradeday(["config", "validate", "-c", str(path)], cwd=cli_home).returncode == 0
    hist = run_tradeday(["config", "history", "-c", str(path), "--json"], cwd=cli_home)
    versions = json.loads(hist.stdout)
    assert len(versions) == 2
    diff = run_tradeday(["config", "diff", versions[1]["sha256"][:8], versions[0]["sha256"][:8], "-c", str(path)],
                        cwd=cli_home)
    assert diff.returncode == 0, diff.stderr
    assert "-  enabled: true" in diff.stdout and "+  enabled: false" in diff.stdout
    show = run_tradeday(["config", "show", "-c", str(path)], cwd=cli_home)
    assert show.returncode == 0 and "webhook_url: '***'" in show.stdout
    assert_no_secrets([r1.stdout, r1.stderr, hist.stdout, diff.stdout, show.stdout], [secret, "SUPERSECRETxyz"])


def test_cli_exit_codes_and_no_traceback(tmp_path: Path, cli_home: Path) -> None:
    bad = write_config(tmp_path, "broker:\n  kind: ibkr\n  ibkr: {port: 99999}\n")
    r = run_tradeday(["config", "validate", "-c", str(bad)], cwd=cli_home)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr and f"{bad}:3 broker.ibkr.port" in r.stderr
    usage = run_tradeday(["config", "validate", "--no-such-flag"], cwd=cli_home)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    # default config path is configs/dev.yaml relative to cwd, or $TRADEDAY_CONFIG
    missing = run_tradeday(["config", "validate"], cwd=cli_home)
    assert missing.returncode == 3 and "configs/dev.yaml: config file not found" in missing.stderr
    via_env = run_tradeday(["config", "validate"], cwd=cli_home, env={"TRADEDAY_CONFIG": str(REPO / "configs/dev.yaml")})
    assert via_env.returncode == 0, via_env.stderr
