"""tradeday's configuration: one YAML file validated into typed models.

Rules (README "Configuration"):
- Relative paths resolve against ``root``; ``root`` itself (default ".") resolves against the
  directory holding the config file. Nothing depends on the working directory, because cron
  starts commands in $HOME.
- ``${VAR}`` / ``${VAR:-default}`` in tradeday's own sections come from the environment; every
  value taken from the environment is treated as a secret (registered with the redactor).
- Engine-owned sections (``strategy``, ``risk``, anything not tradeday's) pass through
  untouched: the engine reads the same file.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
import signal
import string
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from core.durations import parse_duration, parse_time_of_day
from core.errors import ConfigError
from core.redact import GLOBAL_REDACTOR
from session.notify.config import NotificationsConfig
from session.notify.config import secret_values as notification_secrets
from session.yamlsource import MissingVariable, YamlSource, interpolate

DEFAULT_CONFIG_PATH = "configs/dev.yaml"
CONFIG_ENV_VAR = "TRADEDAY_CONFIG"

Duration = Annotated[float, BeforeValidator(parse_duration)]
TimeOfDay = Annotated[time, BeforeValidator(parse_time_of_day)]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
               "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4,
               "tb": 1000**4, "tib": 1024**4}


def parse_size(value: object) -> int:
    """Bytes from ``1GiB``, ``500MB``, ``2g`` or a plain number."""
    if isinstance(value, bool):
        raise ValueError("must be a size like 1GiB, 500MB or a number of bytes")
    if isinstance(value, (int, float)):
        return int(value)
    m = _SIZE.match(str(value))
    if not m or (m.group(2) or "").lower() not in _SIZE_UNITS:
        raise ValueError(f"'{value}' is not a size; write it like 1GiB, 500MB or a number of bytes")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()])


Size = Annotated[int, BeforeValidator(parse_size)]


def _signal_name(value: object) -> str:
    name = str(value).upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if not hasattr(signal.Signals, name):
        raise ValueError(f"'{value}' is not a signal name; use e.g. SIGTERM, SIGINT, SIGHUP")
    return name


SignalName = Annotated[str, BeforeValidator(_signal_name)]


class Model(BaseModel):
    # hide_input_in_errors: a validation error must never echo a secret value back.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True)


class Window(Model):
    """A span of the day in market time; also written ``"06:00-23:00"``."""

    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str) and "-" in value:
            start, _, end = value.partition("-")
            return {"start": start.strip(), "end": end.strip()}
        if isinstance(value, dict) and ("earliest" in value or "latest" in value):
            return {"start": value.get("earliest"), "end": value.get("latest")}
        return value


class Hours(Model):
    open: TimeOfDay
    close: TimeOfDay


class SpecialSessionConfig(Model):
    open: TimeOfDay
    close: TimeOfDay
    name: str = "Special session"


class MarketConfig(Model):
    calendar: str = "XNYS"
    timezone: str | None = None
    hours: Hours | None = None
    pre_market: Window | None = None
    post_market: Window | None = None
    extra_holidays: dict[date, str] = Field(default_factory=dict)
    special_sessions: dict[date, SpecialSessionConfig] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{value}'; use an IANA name like Asia/Kolkata") from None
        return value


class SessionConfig(Model):
    start_before_open: Duration = 300.0
    stop_after_close: Duration = 0.0
    allowed_window: Window = Field(default_factory=lambda: Window(start=time(6), end=time(23)))
    heartbeat_interval: Duration = 300.0
    # Kite-style seed configs carry market hours here (IST); they override market.hours.
    market_open_ist: TimeOfDay | None = None
    market_close_ist: TimeOfDay | None = None


class BackoffConfig(Model):
    initial: Duration = 1.0
    factor: float = Field(2.0, ge=1.0)
    max: Duration = 60.0
    jitter: float = Field(0.1, ge=0.0, le=1.0)


_PLACEHOLDERS = {"mode", "config", "date", "python"}
_ENGINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _split_command(value: Any) -> Any:
    if isinstance(value, str):
        import shlex

        value = shlex.split(value)
    if isinstance(value, list) and not value:
        raise ValueError("must name a program to run")
    return value


def _check_placeholders(value: list[str]) -> list[str]:
    for arg in value:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
        except ValueError:
            raise ValueError(f"'{arg}' has an unmatched brace; write {{{{ and }}}} for literal braces") from None
        unknown = [f for f in fields if f not in _PLACEHOLDERS]
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {{mode}} {{config}} {{date}} {{python}}")
    return value


def _env_strings(value: Any) -> Any:
    # YAML turns `DEBUG: yes` into True; the environment only holds text.
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in value.items()}
    return value


Command = Annotated[list[str], BeforeValidator(_split_command), AfterValidator(_check_placeholders)]
EnvMap = Annotated[dict[str, str], BeforeValidator(_env_strings)]


class EngineConfig(Model):
    name: str
    command: Command
    cwd: str | None = None
    env: EnvMap = Field(default_factory=dict)
    enabled: bool = True
    restart: Literal["never", "on-failure", "always"] = "on-failure"
    max_restarts: int = Field(5, ge=0)
    backoff: BackoffConfig = Field(default_factory=BackoffConfig)
    no_restart_exit_codes: list[int] = Field(default_factory=lambda: [78])
    start_secs: Duration = 10.0
    hang_timeout: Duration = 300.0
    stop_signal: SignalName = "SIGTERM"
    stop_timeout: Duration = 30.0
    parent_death_signal: SignalName | None = "SIGTERM"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ENGINE_NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names the engine's log file)")
        return value


class KiteConfig(Model):
    secrets_file: str = "secrets/kite.env"
    tokens_file: str = "secrets/kite_tokens.env"
    api_root: str = "https://api.kite.trade"
    timeout: Duration = 5.0


class IbkrConfig(Model):
    host: str = "127.0.0.1"
    port: int = Field(7497, ge=1, le=65535)
    client_id: int = 1
    # A separate id for tradeday's own probe, so the engine's client id is never taken.
    probe_client_id: int = 999
    timeout: Duration = 5.0


BrokerKind = Literal["none", "kite", "ibkr"]


class BrokerConfig(Model):
    # One broker, or a list for a setup whose engines use both (each gets its checks).
    kind: BrokerKind | list[Literal["kite", "ibkr"]] = "none"
    kite: KiteConfig = Field(default_factory=KiteConfig)
    ibkr: IbkrConfig = Field(default_factory=IbkrConfig)
    # copilot_quant seeds say paper_trading: true/false; checked against `mode`.
    paper_trading: bool | None = None

    @property
    def kinds(self) -> list[str]:
        """The brokers in use: [], ["kite"], ["ibkr"] or both."""
        if isinstance(self.kind, list):
            return list(dict.fromkeys(self.kind))
        return [] if self.kind == "none" else [self.kind]

    def uses(self, name: str) -> bool:
        return name in self.kinds

    @model_validator(mode="before")
    @classmethod
    def _copilot_form(cls, value: Any) -> Any:
        """Accept ``{broker_type: ibkr, host, port, client_id, paper_trading}`` unchanged."""
        if not isinstance(value, dict) or "broker_type" not in value:
            return value
        value = dict(value)
        value["kind"] = value.pop("broker_type")
        ibkr = dict(value.get("ibkr") or {})
        for key in ("host", "port", "client_id", "probe_client_id", "timeout"):
            if key in value:
                ibkr[key] = value.pop(key)
        if ibkr:
            value["ibkr"] = ibkr
        return value


class PathsConfig(Model):
    artifacts: str = "artifacts"
    logs: str | None = None
    state: str | None = None
    reports: str | None = None
    journal: str | None = None


class StepConfig(Model):
    command: Command
    timeout: Duration = 300.0
    cwd: str | None = None
    env: EnvMap = Field(default_factory=dict)
    enabled: bool = True


class EodConfig(Model):
    enabled: bool = True
    analytics: StepConfig | None = None
    backtest: StepConfig | None = None
    fills_source: Literal["journal", "kite"] = "journal"


class ReportsConfig(Model):
    templates_dir: str | None = None
    html: bool = False
    chart: bool = True
    currency: str | None = None
    carry: bool = True


class ChecksConfig(Model):
    silence: list[str] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)
    min_free_disk: Size = 1024**3
    timeout: Duration = 10.0
    max_clock_skew: Duration = 2.0


_TZ_TO_CALENDAR = {
    "America/New_York": "XNYS",
    "US/Eastern": "XNYS",
    "Asia/Kolkata": "XNSE",
    "Asia/Calcutta": "XNSE",
}


class TradedayConfig(BaseModel):
    """The whole file. Unknown top-level sections belong to the engine and pass through."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, populate_by_name=True)

    version: str | None = None
    mode: Literal["paper", "live"] = "paper"
    root: str | None = None
    market: MarketConfig = Field(default_factory=MarketConfig)
    session: SessionConfig = Field(default_factory=SessionConfig)
    engines: list[EngineConfig] = Field(default_factory=list)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    eod: EodConfig = Field(default_factory=EodConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str = PrivateAttr(default="")
    _text: str = PrivateAttr(default="")
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _seed_inference(cls, data: Any) -> Any:
        """Make both seed systems' files mean what their authors meant.

        A Kite-style file gives IST hours in ``session`` (so it trades NSE); a copilot_quant
        file gives ``schedule.timezone``. Without a ``market`` section, pick the calendar
        those imply instead of a silent US default.
        """
        if not isinstance(data, dict) or "market" in data:
            return data
        session = data.get("session") if isinstance(data.get("session"), dict) else {}
        schedule = data.get("schedule") if isinstance(data.get("schedule"), dict) else {}
        calendar = None
        if "market_open_ist" in session or "market_close_ist" in session:
            calendar = "XNSE"
        elif isinstance(schedule.get("timezone"), str):
            calendar = _TZ_TO_CALENDAR.get(schedule["timezone"])
        if calendar:
            data = dict(data)
            data["market"] = {"calendar": calendar}
        return data

    @model_validator(mode="after")
    def _consistency(self) -> TradedayConfig:
        s = self.session
        if (s.market_open_ist is None) != (s.market_close_ist is None):
            raise ValueError("session.market_open_ist and session.market_close_ist go together; set both")
        if s.market_open_ist is not None and self.market.hours is None:
            self.market.hours = Hours(open=s.market_open_ist, close=s.market_close_ist)
        if self.broker.paper_trading is not None and self.broker.paper_trading != (self.mode == "paper"):
            raise ValueError(
                f"broker.paper_trading: {str(self.broker.paper_trading).lower()} contradicts mode: {self.mode}; "
                "make them agree (paper is the default)"
            )
        names = [e.name for e in self.engines]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"engines: name '{dupes[0]}' is used twice; engine names must be unique")
        return self

    # --- where things are -------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def text(self) -> str:
        return self._text

    @property
    def warnings(self) -> list[str]:
        return self._warnings

    @property
    def root_dir(self) -> Path:
        base = self._path.parent if self._path else Path.cwd()
        return (base / (self.root or ".")).resolve()

    def resolve(self, p: str | os.PathLike[str]) -> Path:
        path = Path(os.path.expanduser(str(p)))
        return path if path.is_absolute() else (self.root_dir / path)

    @property
    def artifacts_dir(self) -> Path:
        return self.resolve(self.paths.artifacts)

    def _derived(self, configured: str | None, name: str) -> Path:
        return self.resolve(configured) if configured else self.artifacts_dir / name

    @property
    def logs_dir(self) -> Path:
        return self._derived(self.paths.logs, "logs")

    @property
    def state_dir(self) -> Path:
        return self._derived(self.paths.state, "state")

    @property
    def reports_dir(self) -> Path:
        return self._derived(self.paths.reports, "reports")

    @property
    def journal_dir(self) -> Path:
        return self._derived(self.paths.journal, "journal")

    @property
    def config_history_dir(self) -> Path:
        return self.artifacts_dir / "config-history"

    @property
    def outbox_path(self) -> Path:
        return self.artifacts_dir / "notifications" / "outbox.jsonl"

    def journal_path(self, day: date) -> Path:
        """The day's journal: ``{date}.csv``, or ``{date}.jsonl`` when only that exists."""
        csv = self.journal_dir / f"{day.isoformat()}.csv"
        jsonl = self.journal_dir / f"{day.isoformat()}.jsonl"
        return jsonl if jsonl.exists() and not csv.exists() else csv

    def engine_owned_sections(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


TRADEDAY_SECTIONS = tuple(f for f in TradedayConfig.model_fields)
# Keys whose values are secrets wherever they appear (config show/diff mask them).
SECRET_KEY_PATTERN = re.compile(r"(token|password|secret|api_key|webhook_url|apikey|passwd)", re.IGNORECASE)


# --- error messages ---------------------------------------------------------------------------

def _loc_text(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _friendly(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    ctx = err.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be an integer"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping (key: value)"
    if kind in ("string_type",):
        return "must be a string"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type"):
        return "must be a date written YYYY-MM-DD"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return msg[0].lower() + msg[1:] if msg else msg
    if kind == "union_tag_invalid":
        return f"unknown type; use one of {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return f"needs '{ctx.get('discriminator', 'type')}'"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class at a key path, to suggest field names for unknown keys."""
    model: Any = TradedayConfig
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        model = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            for inner in (cand, *getattr(cand, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    model = inner
                    break
            if model:
                break
    return model


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _document_loc(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Drop path parts pydantic adds that are not in the file (a union's tag, e.g. the
    ``slack`` in ``channels[0].slack.webhook_url``); the last part always stays."""
    kept: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif last or not isinstance(node, (dict, list)):
            kept.append(part)
    return tuple(kept)


def validation_messages(exc: ValidationError, source: YamlSource) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = _document_loc(tuple(err["loc"]), source.data)
        text = _friendly(err)
        if err.get("type") == "extra_forbidden" and loc:
            parent = _model_at(loc[:-1])
            if parent is not None:
                text += _did_you_mean(str(loc[-1]), list(parent.model_fields))
        where = _loc_text(loc)
        lines.append(source.locate(loc, f"{where}: {text}" if where else text))
    return lines


# --- loading ----------------------------------------------------------------------------------

def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def _interpolate_tradeday_sections(source: YamlSource, environ: Any) -> None:
    """Substitute ``${VAR}`` in tradeday's sections (not the engine's) of ``source.data``."""
    found: list[str] = []

    def visit(node: Any, path: tuple[str | int, ...]) -> None:
        if not path or path[0] not in TRADEDAY_SECTIONS or "$" not in str(node.value):
            return
        if node.tag != "tag:yaml.org,2002:str":
            return
        try:
            new = interpolate(node.value, environ, found)
        except MissingVariable as missing:
            raise ConfigError(
                source.locate(path, f"{_loc_text(path)}: environment variable {missing.name} is not set"),
                hint=f"export {missing.name}=... or write ${{{missing.name}:-default}}",
            ) from None
        target = source.data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = new

    source.walk_scalars(visit)
    for value in found:
        GLOBAL_REDACTOR.add(value)


def _register_inline_secrets(data: Any, key: str = "") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _register_inline_secrets(v, str(k))
    elif isinstance(data, list):
        for v in data:
            _register_inline_secrets(v, key)
    elif isinstance(data, str) and SECRET_KEY_PATTERN.search(key):
        GLOBAL_REDACTOR.add(data)


def load_config(path: str | os.PathLike[str] | None = None, *, environ: Any = None,
                record: bool = False) -> TradedayConfig:
    """Load, interpolate and validate a config file; raise ConfigError (exit 3) on any problem.

    ``record=True`` keeps the file in the config history (session.config_history).
    """
    cfg_path = Path(path) if path is not None else default_config_path()
    source = YamlSource.read(cfg_path)
    if not isinstance(source.data, dict):
        raise ConfigError(f"{cfg_path}:1 the config must be a mapping of sections (version, mode, market, ...)")
    for key in source.data:
        if not isinstance(key, str):
            raise ConfigError(source.locate((key,), f"section names must be text, not {key!r}"))
    _interpolate_tradeday_sections(source, os.environ if environ is None else environ)
    _register_inline_secrets({k: v for k, v in source.data.items() if k in TRADEDAY_SECTIONS})

    try:
        config = TradedayConfig.model_validate(source.data)
    except ValidationError as exc:
        messages = validation_messages(exc, source)
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        err = ConfigError(messages[0] + more, hint="fix the value at that line; see README 'Configuration'")
        err.details = messages  # type: ignore[attr-defined]
        raise err from None

    for value in notification_secrets(config.notifications):
        GLOBAL_REDACTOR.add(value)

    config._path = cfg_path.resolve()
    config._text = source.text
    config._sha256 = hashlib.sha256(source.text.encode("utf-8")).hexdigest()
    for key in config.model_extra or {}:
        near = [s for s in TRADEDAY_SECTIONS if _edit_distance(key, s) <= 2]
        if near:
            config._warnings.append(
                source.locate((key,), f"unknown section '{key}' (did you mean '{near[0]}'?); "
                                      "it is passed to the engine untouched")
            )
    if record:
        from session.config_history import ConfigHistory

        ConfigHistory(config.config_history_dir).record(config)
    return config


class ConfigManager:
    """copilot_quant's orchestrator API: ``ConfigManager(path).load()``, ``.reload()``,
    ``.save(config)``, ``.list_versions()``."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, record: bool = True) -> None:
        self.path = Path(path) if path is not None else default_config_path()
        self.record = record
        self.config: TradedayConfig | None = None

    def load(self) -> TradedayConfig:
        self.config = load_config(self.path, record=self.record)
        return self.config

    def reload(self) -> TradedayConfig:
        """Load again; on error the previous config stays current and the error is raised."""
        return self.load()

    def save(self, config: TradedayConfig) -> Path:
        """Write ``config`` (tradeday's sections and the engine's) to the file, atomically."""
        import yaml

        from core.fsutil import atomic_write_text

        data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        atomic_write_text(self.path, text)
        return self.load()._path or self.path

    def list_versions(self) -> list[dict[str, Any]]:
        from session.config_history import ConfigHistory

        cfg = self.config or load_config(self.path)
        return ConfigHistory(cfg.config_history_dir).versions()


def masked_data(config: TradedayConfig) -> dict[str, Any]:
    """The config as plain data with every secret replaced by ``***`` (for show/diff)."""

    def mask(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: mask(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v, key) for v in value]
        if isinstance(value, str):
            if SECRET_KEY_PATTERN.search(key) and value:
                return "***"
            return GLOBAL_REDACTOR(value)
        return value

    return mask(config.model_dump(mode="json", by_alias=True))
