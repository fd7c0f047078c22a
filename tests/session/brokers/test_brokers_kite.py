"""Kite Connect: env files, credentials, token expiry, and the probe against a real local HTTP server."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.errors import ConfigError, EodError
from core.exitcodes import ExitCode
from core.redact import GLOBAL_REDACTOR
from session.brokers.envfile import read_env_file
from session.brokers.kite import (
    KiteCredentials,
    fetch_kite_trades,
    file_permission_problem,
    kite_token_expiry_before,
    load_kite_credentials,
    probe_kite,
    token_file_written_at,
    token_is_stale,
)
from tests.conftest import REPO
from tests.fakes.http_recorder import HttpRecorder, Reply
from tests.fakes.kite_server import FakeKiteServer, make_trade
from tests.fakes.ports import free_port

IST = ZoneInfo("Asia/Kolkata")
API_KEY = "kkey5ecretA1x9"
ACCESS_TOKEN = "ttok5ecretB2y8zq"
SECRETS = (API_KEY, ACCESS_TOKEN)
TIMEOUT = 1.0  # the bound under test, where the server hangs, trickles or is not there
REPLY_TIMEOUT = 15.0  # where the server answers: generous, so a busy machine is not a network error


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret leaked into: {text!r}"


@pytest.fixture
def kite() -> FakeKiteServer:
    with FakeKiteServer(api_key=API_KEY, access_token=ACCESS_TOKEN) as server:
        yield server


# --------------------------------------------------------------------------- import cost


def test_importing_the_broker_modules_does_not_import_the_client_libraries() -> None:
    code = (
        "import sys, session.brokers.kite, session.brokers.ibkr, session.brokers.envfile\n"
        "heavy = [m for m in ('kiteconnect', 'twisted', 'autobahn', 'ib_async', 'eventkit') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- env files


def test_env_file_syntax(tmp_path: Path) -> None:
    path = tmp_path / "kite.env"
    path.write_text(
        "\ufeff# Kite secrets\n"
        "\n"
        "KITE_API_KEY=plainvalue\n"
        "export EXPORTED=yes  # trailing comment\n"
        "  SPACED = around  \n"
        "DOUBLE=\"with space # not a comment\" # a comment\n"
        "ESCAPED=\"a\\\"b\\\\c\\nd\"\n"
        "SINGLE='lit\\eral $HOME'\n"
        "HASH_IN_WORD=abc#def\n"
        "EMPTY=\n"
        "DUP=first\n"
        "DUP=second\n",
        encoding="utf-8",
    )
    assert read_env_file(path) == {
        "KITE_API_KEY": "plainvalue",
        "EXPORTED": "yes",
        "SPACED": "around",
        "DOUBLE": "with space # not a comment",
        "ESCAPED": 'a"b\\c\nd',
        "SINGLE": "lit\\eral $HOME",
        "HASH_IN_WORD": "abc#def",
        "EMPTY": "",
        "DUP": "second",
    }


@pytest.mark.parametrize(
    "bad_line, what",
    [
        (f"{ACCESS_TOKEN}", "not a KEY=VALUE line"),
        (f"1KEY={ACCESS_TOKEN}", "not a KEY=VALUE line"),
        (f"MY-KEY={ACCESS_TOKEN}", "not a KEY=VALUE line"),
        (f'ACCESS_TOKEN="{ACCESS_TOKEN}', "unterminated double-quoted value"),
        (f"ACCESS_TOKEN='{ACCESS_TOKEN}", "unterminated single-quoted value"),
        (f'ACCESS_TOKEN="{ACCESS_TOKEN}"junk', "unexpected text after the closing quote"),
    ],
)
def test_malformed_env_line_names_file_and_line_but_not_the_value(tmp_path: Path, bad_line: str, what: str) -> None:
    path = tmp_path / "tokens.env"
    path.write_text(f"# header\nGOOD=1\n{bad_line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_env_file(path)
    err = caught.value
    assert f"{path}:3:" in str(err)
    assert what in str(err)
    assert err.exit_code == ExitCode.CONFIG_INVALID
    assert_no_secrets(str(err), repr(err), repr(err.args), "".join(traceback.format_exception(err)))


def test_env_file_missing_unreadable_or_not_text(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_env_file(tmp_path / "absent.env")
    with pytest.raises(ConfigError, match="is a directory"):
        read_env_file(tmp_path)
    binary = tmp_path / "binary.env"
    binary.write_bytes(b"KEY=\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_env_file(binary)


# --------------------------------------------------------------------------- credentials


def write_secret_files(tmp_path: Path, key_line: str, token_line: str) -> tuple[Path, Path]:
    secrets = tmp_path / "secrets" / "kite.env"
    tokens = tmp_path / "tokens" / "kite.env"
    secrets.parent.mkdir()
    tokens.parent.mkdir()
    secrets.write_text(key_line + "\n", encoding="utf-8")
    tokens.write_text(token_line + "\n", encoding="utf-8")
    return secrets, tokens


def test_credentials_from_files(tmp_path: Path) -> None:
    secrets, tokens = write_secret_files(tmp_path, f"KITE_API_KEY={API_KEY}", f"ACCESS_TOKEN={ACCESS_TOKEN}")
    creds = load_kite_credentials(secrets, tokens, environ={})
    assert (creds.api_key, creds.access_token) == (API_KEY, ACCESS_TOKEN)
    assert creds.api_key_source == f"file:{secrets}"
    assert creds.access_token_source == f"file:{tokens}"
    assert (creds.secrets_file, creds.tokens_file) == (secrets, tokens)
    # Loading registers the values with the process-wide redactor used by logs and errors.
    assert GLOBAL_REDACTOR(f"x {API_KEY} y {ACCESS_TOKEN}") == "x *** y ***"


def test_credentials_accept_the_alternative_names(tmp_path: Path) -> None:
    secrets, tokens = write_secret_files(tmp_path, f"API_KEY='{API_KEY}'", f"export KITE_ACCESS_TOKEN={ACCESS_TOKEN}")
    creds = load_kite_credentials(secrets, tokens, environ={})
    assert (creds.api_key, creds.access_token) == (API_KEY, ACCESS_TOKEN)


def test_environment_overrides_files(tmp_path: Path) -> None:
    secrets, tokens = write_secret_files(tmp_path, "KITE_API_KEY=fromfilekey", "ACCESS_TOKEN=fromfiletoken")
    environ = {"KITE_API_KEY": API_KEY, "KITE_ACCESS_TOKEN": ACCESS_TOKEN}
    creds = load_kite_credentials(secrets, tokens, environ=environ)
    assert (creds.api_key, creds.api_key_source) == (API_KEY, "env:KITE_API_KEY")
    assert (creds.access_token, creds.access_token_source) == (ACCESS_TOKEN, "env:KITE_ACCESS_TOKEN")


def test_empty_environment_variables_do_not_override(tmp_path: Path) -> None:
    secrets, tokens = write_secret_files(tmp_path, f"KITE_API_KEY={API_KEY}", f"ACCESS_TOKEN={ACCESS_TOKEN}")
    creds = load_kite_credentials(secrets, tokens, environ={"KITE_API_KEY": "", "KITE_ACCESS_TOKEN": " "})
    assert (creds.api_key, creds.access_token) == (API_KEY, ACCESS_TOKEN)
    assert creds.api_key_source.startswith("file:")


def test_generic_environment_names_override_and_say_so(tmp_path: Path) -> None:
    # The contract: variables of the same names as in the files override them.
    # The source names the generic variable so the precheck can warn (secrets.W002).
    secrets, tokens = write_secret_files(tmp_path, f"KITE_API_KEY={API_KEY}", f"ACCESS_TOKEN={ACCESS_TOKEN}")
    environ = {"API_KEY": "generic-key-value", "ACCESS_TOKEN": "generic-token-value"}
    creds = load_kite_credentials(secrets, tokens, environ=environ)
    assert (creds.api_key, creds.api_key_source) == ("generic-key-value", "env:API_KEY")
    assert (creds.access_token, creds.access_token_source) == ("generic-token-value", "env:ACCESS_TOKEN")
    prefixed = load_kite_credentials(secrets, tokens, environ={**environ, "KITE_API_KEY": "prefixed-key-1"})
    assert (prefixed.api_key, prefixed.api_key_source) == ("prefixed-key-1", "env:KITE_API_KEY")


def test_missing_files_give_none_not_an_error(tmp_path: Path) -> None:
    creds = load_kite_credentials(tmp_path / "no-secrets.env", tmp_path / "no-tokens.env", environ={})
    assert creds.api_key is None and creds.access_token is None
    assert creds.api_key_source is None and creds.access_token_source is None
    assert "<missing>" in repr(creds)


def test_malformed_credentials_file_is_a_config_error(tmp_path: Path) -> None:
    secrets, tokens = write_secret_files(tmp_path, f"KITE_API_KEY={API_KEY}", f'ACCESS_TOKEN="{ACCESS_TOKEN}')
    with pytest.raises(ConfigError) as caught:
        load_kite_credentials(secrets, tokens, environ={})
    assert f"{tokens}:1:" in str(caught.value)
    assert_no_secrets(str(caught.value))


def test_credentials_repr_never_shows_values(tmp_path: Path) -> None:
    secrets, tokens = write_secret_files(tmp_path, f"KITE_API_KEY={API_KEY}", f"ACCESS_TOKEN={ACCESS_TOKEN}")
    creds = load_kite_credentials(secrets, tokens, environ={})
    text = repr(creds) + str(creds) + f"{creds}" + repr([creds])
    assert_no_secrets(text)
    assert f"<set from file:{secrets}>" in repr(creds)
    direct = KiteCredentials(API_KEY, ACCESS_TOKEN, "env:KITE_API_KEY", "env:KITE_ACCESS_TOKEN", secrets, tokens)
    assert_no_secrets(repr(direct))


@pytest.mark.skipif(os.name != "posix", reason="mode bits are POSIX")
def test_file_permission_problem(tmp_path: Path) -> None:
    path = tmp_path / "kite.env"
    path.write_text("KITE_API_KEY=x\n")
    os.chmod(path, 0o600)
    assert file_permission_problem(path) is None
    os.chmod(path, 0o400)
    assert file_permission_problem(path) is None
    os.chmod(path, 0o644)
    assert file_permission_problem(path) == f"readable by group/others (mode 0644); run chmod 600 {path}"
    os.chmod(path, 0o640)
    assert file_permission_problem(path).startswith("readable by group/others (mode 0640)")
    os.chmod(path, 0o620)
    assert file_permission_problem(path).startswith("writable by group/others (mode 0620)")
    os.chmod(path, 0o601)
    assert file_permission_problem(path).startswith("accessible by group/others (mode 0601)")
    assert file_permission_problem(tmp_path / "missing.env") is None
    spaced = tmp_path / "my secrets.env"
    spaced.write_text("")
    os.chmod(spaced, 0o666)
    assert file_permission_problem(spaced).endswith(f"run chmod 600 '{spaced}'")


# --------------------------------------------------------------------------- token expiry


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


@pytest.mark.parametrize(
    "now, expected",
    [
        (ist(2026, 11, 10, 6, 0, 0), ist(2026, 11, 10, 6, 0, 0)),  # exactly at the boundary
        (ist(2026, 11, 10, 5, 59, 59), ist(2026, 11, 9, 6, 0, 0)),
        (ist(2026, 11, 10, 6, 0, 1), ist(2026, 11, 10, 6, 0, 0)),
        (ist(2026, 11, 10, 23, 59, 59), ist(2026, 11, 10, 6, 0, 0)),
        (ist(2026, 11, 10, 0, 0, 0), ist(2026, 11, 9, 6, 0, 0)),
        (ist(2027, 1, 1, 3, 0, 0), ist(2026, 12, 31, 6, 0, 0)),  # across a year end
        (ist(2028, 3, 1, 5, 0, 0), ist(2028, 2, 29, 6, 0, 0)),  # across a leap day
        # The same instants given in other zones: 00:30 UTC is 06:00 IST.
        (datetime(2026, 11, 10, 0, 30, tzinfo=UTC), ist(2026, 11, 10, 6, 0, 0)),
        (datetime(2026, 11, 10, 0, 29, 59, tzinfo=UTC), ist(2026, 11, 9, 6, 0, 0)),
        (datetime(2026, 11, 9, 20, 0, tzinfo=ZoneInfo("America/New_York")), ist(2026, 11, 10, 6, 0, 0)),
    ],
)
def test_kite_token_expiry_before(now: datetime, expected: datetime) -> None:
    got = kite_token_expiry_before(now)
    assert got == expected
    assert got.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    "written_at, now, stale",
    [
        # Token from yesterday's login, checked this morning before and after 06:00.
        (ist(2026, 11, 9, 8, 45), ist(2026, 11, 10, 5, 59, 59), False),
        (ist(2026, 11, 9, 8, 45), ist(2026, 11, 10, 6, 0, 0), True),
        (ist(2026, 11, 9, 8, 45), ist(2026, 11, 10, 8, 45), True),
        # Written this morning after 06:00: fresh all day and into the night.
        (ist(2026, 11, 10, 6, 0, 0), ist(2026, 11, 10, 6, 0, 0), False),
        (ist(2026, 11, 10, 6, 5), ist(2026, 11, 10, 23, 0), False),
        (ist(2026, 11, 10, 6, 5), ist(2026, 11, 11, 5, 59), False),
        (ist(2026, 11, 10, 6, 5), ist(2026, 11, 11, 6, 0), True),
        # Written just before 06:00 this morning: already dead at 06:00.
        (ist(2026, 11, 10, 5, 59, 59), ist(2026, 11, 10, 6, 0, 1), True),
        # UTC mtimes (file system) against an IST clock: 00:29 UTC = 05:59 IST.
        (datetime(2026, 11, 10, 0, 29, tzinfo=UTC), ist(2026, 11, 10, 9, 0), True),
        (datetime(2026, 11, 10, 0, 31, tzinfo=UTC), ist(2026, 11, 10, 9, 0), False),
        # Written last week.
        (ist(2026, 11, 3, 9, 0), ist(2026, 11, 10, 9, 0), True),
    ],
)
def test_token_is_stale(written_at: datetime, now: datetime, stale: bool) -> None:
    assert token_is_stale(written_at, now) is stale


def test_token_expiry_rejects_naive_times() -> None:
    with pytest.raises(ValueError):
        kite_token_expiry_before(datetime(2026, 11, 10, 9, 0))
    with pytest.raises(ValueError):
        token_is_stale(datetime(2026, 11, 10, 9, 0), ist(2026, 11, 10, 9, 0))


def test_token_file_written_at_is_the_file_mtime(tmp_path: Path) -> None:
    tokens = tmp_path / "kite.env"
    assert token_file_written_at(tokens) is None
    tokens.write_text(f"ACCESS_TOKEN={ACCESS_TOKEN}\n")
    written = datetime(2026, 11, 10, 0, 29, tzinfo=UTC)  # 05:59 IST
    os.utime(tokens, (written.timestamp(), written.timestamp()))
    assert token_file_written_at(tokens) == written
    assert token_is_stale(token_file_written_at(tokens), ist(2026, 11, 10, 9, 15)) is True


# --------------------------------------------------------------------------- probe


def test_probe_ok_reads_profile_with_the_documented_headers(kite: FakeKiteServer) -> None:
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "ok", result.message
    assert (result.user_id, result.user_name, result.broker) == ("AB1234", "Test Trader", "ZERODHA")
    assert result.message == "token valid for AB1234 (Test Trader, ZERODHA)"
    assert 0 < result.latency_ms < REPLY_TIMEOUT * 1000
    [request] = kite.requests
    assert (request.method, request.path) == ("GET", "/user/profile")
    assert request.headers["Authorization"] == f"token {API_KEY}:{ACCESS_TOKEN}"
    assert request.headers["X-Kite-Version"] == "3"


def test_probe_server_time_comes_from_the_date_header(kite: FakeKiteServer) -> None:
    kite.date_offset_s = 3600.0
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "ok"
    assert result.server_time is not None and result.server_time.tzinfo is not None
    skew = (result.server_time - datetime.now(UTC)).total_seconds()
    assert 3600 - 3 < skew < 3600 + 3
    # The Date header came from the profile reply itself: one request, not two.
    assert kite.paths() == ["/user/profile"]


def test_probe_token_rejected(kite: FakeKiteServer) -> None:
    kite.mode = "token_error"
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "token"
    assert result.message == "token rejected by Kite: Incorrect `api_key` or `access_token`."
    assert result.user_id is None
    assert result.server_time is not None  # the Date of the 403 still tells the skew


def test_probe_wrong_credentials_are_a_token_error(kite: FakeKiteServer) -> None:
    result = probe_kite(API_KEY, "an-old-expired-token", root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "token"
    assert "an-old-expired-token" not in result.message


def test_probe_empty_token_fails_without_a_request(kite: FakeKiteServer) -> None:
    result = probe_kite(API_KEY, "", root=kite.root, timeout=REPLY_TIMEOUT)
    assert (result.status, result.message) == ("token", "no access token to check")
    assert kite.requests == []


def test_probe_bad_gateway_is_a_server_error_not_a_pass(kite: FakeKiteServer) -> None:
    kite.mode = "bad_gateway"
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "server"
    assert result.message == "Kite answered with an error page instead of JSON (HTTP 502)"
    assert "<html>" not in result.message


def test_probe_json_server_error_is_a_server_error(kite: FakeKiteServer) -> None:
    kite.mode = "server_error"
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "server"
    assert result.message == "Kite server error (HTTP 500): Something went wrong. Please try again."


def test_probe_hanging_server_returns_within_the_timeout(kite: FakeKiteServer) -> None:
    kite.mode = "hang"
    started = time.monotonic()
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert result.status == "network"
    assert result.message == f"no answer from Kite at 127.0.0.1:{kite.port} within 1s"
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 5.0  # the server hangs forever: bounded, on a busy machine too


def test_fake_kite_stops_promptly_while_a_request_hangs() -> None:
    import requests

    server = FakeKiteServer(mode="hang").start()
    caller = threading.Thread(target=lambda: _ignore_errors(requests.get, f"{server.root}/user/profile", timeout=30))
    caller.start()
    while not server.requests:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    caller.join(5)
    assert not caller.is_alive()  # the hanging handler was released and the connection closed


def _ignore_errors(func, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    try:
        func(*args, **kwargs)
    except Exception:
        pass


def test_probe_nothing_listening_is_a_network_error() -> None:
    port = free_port()
    started = time.monotonic()
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=f"http://127.0.0.1:{port}", timeout=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert result.status == "network"
    assert result.message == f"cannot connect to Kite at 127.0.0.1:{port}: Connection refused"


def test_probe_scrubs_secrets_a_server_echoes_back(kite: FakeKiteServer) -> None:
    kite.mode = "token_error"
    kite.token_error_message = f"Token {ACCESS_TOKEN} for key {API_KEY} has expired.\nLog in again."
    result = probe_kite(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert result.status == "token"
    assert result.message == "token rejected by Kite: Token *** for key *** has expired. Log in again."


@pytest.mark.parametrize("mode", ["ok", "token_error", "bad_gateway", "server_error", "hang", "refused"])
def test_no_secret_in_any_probe_output(
    mode: str, kite: FakeKiteServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    root = f"http://127.0.0.1:{free_port()}" if mode == "refused" else kite.root
    kite.mode = "ok" if mode == "refused" else mode
    with caplog.at_level(logging.DEBUG):
        result = probe_kite(API_KEY, ACCESS_TOKEN, root=root, timeout=TIMEOUT)
    captured = capsys.readouterr()
    assert result.status != "ok" or mode == "ok"
    assert_no_secrets(result.message, repr(result), str(result.__dict__), caplog.text, captured.out, captured.err)


# --------------------------------------------------------------------------- trades


def test_fetch_trades_returns_kites_trades(kite: FakeKiteServer) -> None:
    kite.trades = [
        make_trade(trade_id="1", tradingsymbol="INFY", quantity=10, average_price=1500.5),
        make_trade(trade_id="2", tradingsymbol="INFY", transaction_type="SELL", quantity=10, average_price=1510.0,
                   fill_timestamp="2026-11-10 15:10:00"),
    ]
    trades = fetch_kite_trades(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT)
    assert [t["trade_id"] for t in trades] == ["1", "2"]
    assert trades[1]["transaction_type"] == "SELL" and trades[1]["average_price"] == 1510.0
    # The client parses Kite's 19-character timestamps (exchange time, naive).
    assert trades[1]["fill_timestamp"] == datetime(2026, 11, 10, 15, 10, 0)
    assert kite.paths() == ["/trades"]


def test_fetch_trades_empty_day(kite: FakeKiteServer) -> None:
    assert fetch_kite_trades(API_KEY, ACCESS_TOKEN, root=kite.root, timeout=REPLY_TIMEOUT) == []


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("token_error", "could not fetch today's trades from Kite: token rejected by Kite"),
        ("bad_gateway", "could not fetch today's trades from Kite: Kite answered with an error page"),
        ("server_error", "could not fetch today's trades from Kite: Kite server error (HTTP 500)"),
        ("hang", "could not fetch today's trades from Kite: no answer from Kite at 127.0.0.1"),
        ("refused", "could not fetch today's trades from Kite: cannot connect to Kite at 127.0.0.1"),
    ],
)
def test_fetch_trades_failures_raise_eod_error(mode: str, expected: str, kite: FakeKiteServer) -> None:
    root = f"http://127.0.0.1:{free_port()}" if mode == "refused" else kite.root
    kite.mode = "ok" if mode == "refused" else mode
    kite.token_error_message = f"bad token {ACCESS_TOKEN}"
    started = time.monotonic()
    with pytest.raises(EodError) as caught:
        fetch_kite_trades(API_KEY, ACCESS_TOKEN, root=root, timeout=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT + 1.0
    err = caught.value
    assert str(err).startswith(expected)
    assert err.exit_code == ExitCode.EOD_FAILED
    assert err.hint
    assert "\n" not in str(err)
    assert_no_secrets(str(err), repr(err), "".join(traceback.format_exception(err)))


def test_fake_kite_trades_shape_matches_the_documented_fields(kite: FakeKiteServer) -> None:
    # The fake is reused by the end-of-day tests: keep it speaking Kite's documented shape.
    import requests

    kite.trades = [make_trade()]
    reply = requests.get(
        f"{kite.root}/trades",
        headers={"Authorization": f"token {API_KEY}:{ACCESS_TOKEN}", "X-Kite-Version": "3"},
        timeout=REPLY_TIMEOUT,
    )
    body = json.loads(reply.text)
    assert reply.status_code == 200 and body["status"] == "success"
    assert set(body["data"][0]) == {
        "trade_id", "order_id", "exchange_order_id", "tradingsymbol", "exchange", "instrument_token",
        "transaction_type", "product", "average_price", "quantity", "fill_timestamp", "order_timestamp",
        "exchange_timestamp",
    }
    missing_version = requests.get(
        f"{kite.root}/trades", headers={"Authorization": f"token {API_KEY}:{ACCESS_TOKEN}"}, timeout=REPLY_TIMEOUT
    )
    assert missing_version.status_code == 400
    assert missing_version.json()["error_type"] == "InputException"


# --------------------------------------------------------------------------- redirects and reply sizes (issue 11)


MiB = 1024 * 1024


@pytest.fixture
def elsewhere() -> Iterator[HttpRecorder]:
    """Where a redirect points: it records whatever reaches it."""
    with HttpRecorder() as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_probe_does_not_follow_a_redirect(status: int, elsewhere: HttpRecorder) -> None:
    with HttpRecorder(default=Reply.redirect(f"{elsewhere.url}/user/profile?session=abc123", status)) as first:
        result = probe_kite(API_KEY, ACCESS_TOKEN, root=first.url, timeout=REPLY_TIMEOUT)
        assert [r.path for r in first.requests] == ["/user/profile"]
    assert elsewhere.requests == []
    assert result.status == "error" and not result.ok
    assert f"HTTP {status}" in result.message and f"redirect to 127.0.0.1:{elsewhere.port}" in result.message
    assert "broker.kite.api_root" in result.message
    assert "abc123" not in result.message and "/user/profile" not in result.message
    assert_no_secrets(result.message, repr(result))


def test_fetch_trades_does_not_follow_a_redirect(elsewhere: HttpRecorder) -> None:
    with HttpRecorder(default=Reply.redirect(f"{elsewhere.url}/trades", 307)) as first:
        with pytest.raises(EodError) as caught:
            fetch_kite_trades(API_KEY, ACCESS_TOKEN, root=first.url, timeout=REPLY_TIMEOUT)
        assert len(first.requests) == 1
    assert elsewhere.requests == []
    assert f"redirect to 127.0.0.1:{elsewhere.port}" in str(caught.value)
    assert_no_secrets(str(caught.value), "".join(traceback.format_exception(caught.value)))


@pytest.mark.parametrize(("status", "expected"), [(200, "error"), (500, "server"), (403, "error")])
def test_probe_stops_reading_a_huge_reply(status: int, expected: str) -> None:
    with HttpRecorder(default=Reply.huge(300 * MiB, status, {"Content-Type": "application/json"})) as flood:
        result = probe_kite(API_KEY, ACCESS_TOKEN, root=flood.url, timeout=5)
        (written,) = flood.wait_streamed(1)
    assert result.status == expected
    assert "larger than" in result.message and f"127.0.0.1:{flood.port}" in result.message
    assert written < 64 * MiB, f"the server wrote {written / MiB:.0f} MiB before the client hung up"


def test_fetch_trades_stops_reading_a_huge_reply() -> None:
    with HttpRecorder(default=Reply.huge(300 * MiB, 200, {"Content-Type": "application/json"})) as flood:
        with pytest.raises(EodError) as caught:
            fetch_kite_trades(API_KEY, ACCESS_TOKEN, root=flood.url, timeout=5)
        (written,) = flood.wait_streamed(1)
    assert "larger than 16 MiB" in str(caught.value)
    assert written < 64 * MiB


def test_probe_stops_reading_a_trickling_reply() -> None:
    # A byte every 50 ms: each read is within the timeout, only the total bound ends it.
    # The probe itself returns at its backstop either way; the point is that its worker
    # thread stops reading too (the server sees the connection closed).
    with HttpRecorder(default=Reply.trickle(10_000, 0.05, 200, {"Content-Type": "application/json"})) as slow:
        result = probe_kite(API_KEY, ACCESS_TOKEN, root=slow.url, timeout=TIMEOUT)
        (written,) = slow.wait_streamed(1, timeout=20)
    assert result.status == "network"
    assert written < 10_000
