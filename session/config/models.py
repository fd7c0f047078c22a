"""The config file's models: one section per model, ``TradedayConfig`` for the whole file.

Engine-owned sections (``strategy``, ``risk``, anything not tradeday's) pass through
untouched: the engine reads the same file.
"""
from __future__ import annotations

import hashlib
import os
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.durations import parse_time_of_day
from core.suggest import did_you_mean
from session.calendar.special import SpecialSession
from session.config.engines import EngineConfig, StepConfig
from session.config.fields import Duration, Model, Size, TimeOfDay
from session.config.sections import Section
from session.config.sections import wrap as wrap_section
from session.notify.config import NotificationsConfig
from session.validation import RuleViolation


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


_SPECIAL_SESSION_KEYS = ("open", "close", "name")


def _config_special_session(value: Any) -> Any:
    """A config entry gives open and close and may name the session (README "Configuration");
    the model's other fields (breaks, holiday, source) are the bundled overlay's."""
    if not isinstance(value, dict):
        return value  # the model says it must be a mapping
    for key in ("open", "close"):
        if key not in value:
            raise RuleViolation("is required", at=(key,))
        if value[key] is None:  # null is a wrong time: say what the time parser says of one
            try:
                parse_time_of_day(None)
            except ValueError as exc:
                raise RuleViolation(str(exc), at=(key,)) from None
    for key in value:
        if key not in _SPECIAL_SESSION_KEYS:
            suggestion = did_you_mean(str(key), _SPECIAL_SESSION_KEYS)
            raise RuleViolation(f"unknown key ({suggestion})" if suggestion else "unknown key", at=(key,))
    return value


ConfigSpecialSession = Annotated[SpecialSession, BeforeValidator(_config_special_session)]


class MarketConfig(Model):
    calendar: str = "XNYS"
    timezone: str | None = None
    hours: Hours | None = None
    pre_market: Window | None = None
    post_market: Window | None = None
    extra_holidays: dict[date, str] = Field(default_factory=dict)
    special_sessions: dict[date, ConfigSpecialSession] = Field(default_factory=dict)

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
    # Each engine log and tradeday.log is rotated at this size, keeping log_backups old files.
    log_max_size: Size = Field(default=100 * 1024**2, ge=0)
    log_backups: int = Field(default=5, ge=0)
    # Kite-style seed configs carry market hours here (IST); they override market.hours.
    market_open_ist: TimeOfDay | None = None
    market_close_ist: TimeOfDay | None = None
    # tradeday's engine list when `engines:` holds kite-algo-minimal's engine options.
    engines: list[EngineConfig] | None = None
    # An absolute loss for the day (the market's currency); copilot_quant's
    # risk.enable_circuit_breaker + risk.max_daily_loss set it too (session/config/seeds.py).
    max_daily_loss: Decimal | None = Field(default=None, gt=0)


class KiteConfig(Model):
    secrets_file: str = "secrets/kite.env"
    tokens_file: str = "secrets/kite_tokens.env"
    api_root: str = "https://api.kite.trade"
    timeout: Duration = 5.0


class IbkrConfig(Model):
    host: str = "127.0.0.1"
    port: int = Field(default=7497, ge=1, le=65535)
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
    # copilot_quant's other broker settings: the engine's, kept as written.
    account_number: str | None = None
    use_gateway: bool | None = None
    commission: float | None = Field(default=None, ge=0)
    slippage: float | None = None

    # copilot_quant's names for the same settings: config.broker.broker_type, .host, .port, .client_id.
    @property
    def broker_type(self) -> str | list[str]:
        return self.kind if isinstance(self.kind, str) else list(self.kind)

    @broker_type.setter
    def broker_type(self, value: Any) -> None:
        self.kind = value

    @property
    def host(self) -> str:
        return self.ibkr.host

    @host.setter
    def host(self, value: str) -> None:
        self.ibkr.host = value

    @property
    def port(self) -> int:
        return self.ibkr.port

    @port.setter
    def port(self, value: int) -> None:
        self.ibkr.port = value

    @property
    def client_id(self) -> int:
        return self.ibkr.client_id

    @client_id.setter
    def client_id(self, value: int) -> None:
        self.ibkr.client_id = value

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
    # A group that may read what tradeday writes (files 0640, folders 0750); None: private
    # (0600 / 0700). See core/fileperms.py.
    group: str | None = None

    @field_validator("group")
    @classmethod
    def _known_group(cls, value: str | None) -> str | None:
        if value is not None:
            from core.fileperms import group_id

            group_id(value)  # ValueError: no such group, or not one of ours
        return value


class EodConfig(Model):
    enabled: bool = True
    analytics: StepConfig | None = None
    backtest: StepConfig | None = None
    fills_source: Literal["journal", "kite"] = "journal"


class ReportsConfig(Model):
    templates_dir: str | None = None
    html: bool = True  # the HTML report beside the Markdown (every section of it); false: Markdown only
    chart: bool = True
    currency: str | None = None
    carry: bool = True


class ChecksConfig(Model):
    silence: list[str] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)
    min_free_disk: Size = 1024**3
    timeout: Duration = 10.0
    max_clock_skew: Duration = 2.0
    # Days before the market's holiday data ends that precheck warns (calendar.W001); 0 = never.
    calendar_horizon: int = Field(default=45, ge=0)

    @field_validator("silence", "disable")
    @classmethod
    def _not_the_guard(cls, value: list[str], info: ValidationInfo) -> list[str]:
        """No setting can silence or disable the paper/live guard (session/guard.py)."""
        from session.guard import refusal

        for index, entry in enumerate(value):
            refused = refusal(str(info.field_name), entry)
            if refused:
                raise RuleViolation(refused.message, hint=refused.hint, at=(index,))
        return value


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
    _env_paths: frozenset[tuple[str | int, ...]] = PrivateAttr(default=frozenset())
    _notification_env: frozenset[str] = PrivateAttr(default_factory=frozenset)  # set by the loader
    _engine_options: Any = PrivateAttr(default=None)  # kite-algo-minimal's `engines:` mapping

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).model_fields and not name.startswith("_"):
            value = wrap_section(value)  # an engine section assigned whole reads by attribute too
        super().__setattr__(name, value)

    @model_validator(mode="wrap")
    @classmethod
    def _seed_shapes(cls, data: Any, handler: Any) -> Any:
        """copilot_quant's rules and kite-algo-minimal's ``engines:`` mapping (session/config/seeds.py)."""
        from session.config import seeds

        if isinstance(data, dict):
            seeds.check_copilot_rules(data)
            data = seeds.copilot_defaults(data)
        validated, options = seeds.split_engines(data)
        conflict = seeds.engine_list_conflict(data, options)
        if conflict is not None:
            raise conflict
        model = handler(validated)
        if isinstance(model, TradedayConfig):
            for key, value in (model.model_extra or {}).items():
                model.model_extra[key] = wrap_section(value)  # type: ignore[index]
            if options is not None:
                model._engine_options = wrap_section(options)
                model.engines = list(model.session.engines or [])
            elif model.session.engines and not model.engines:
                model.engines = list(model.session.engines)
        return model

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
        session: dict[str, Any] = data["session"] if isinstance(data.get("session"), dict) else {}
        schedule: dict[str, Any] = data["schedule"] if isinstance(data.get("schedule"), dict) else {}
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
        if s.market_open_ist is not None and s.market_close_ist is not None and self.market.hours is None:
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

    def _loaded_from(self, path: Path, text: str) -> None:
        """Remember the file this config was read from (the loader calls it)."""
        self._path = path
        self._text = text
        self._sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()

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
    def env_paths(self) -> frozenset[tuple[str | int, ...]]:
        """Key paths of the values that came from ``${ENV}``: masked wherever they are shown."""
        return self._env_paths

    @property
    def notification_env_vars(self) -> frozenset[str]:
        """Environment variables whose values the ``notifications`` section took (``${VAR}``):
        tradeday's secrets, which engines do not inherit (docs/ENGINE.md)."""
        return self._notification_env

    @property
    def root_dir(self) -> Path:
        from session.config.source import root_dir_of

        return root_dir_of(self._path, self.root)

    def resolve(self, p: str | os.PathLike[str]) -> Path:
        from session.config.source import resolve_in

        return resolve_in(self.root_dir, p)

    @property
    def artifacts_dir(self) -> Path:
        return self.resolve(self.paths.artifacts)

    def _derived(self, configured: str | None, name: str) -> Path:
        from session.config.source import folder_in

        return folder_in(self.root_dir, self.artifacts_dir, configured, name)

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
        from session.config.source import journal_file

        return journal_file(self.journal_dir, day)

    @property
    def engine_options(self) -> Section | None:
        """kite-algo-minimal's ``engines:`` mapping (the engine's own options, read from the
        file by the engine), or None when ``engines`` is tradeday's list."""
        options: Section | None = self._engine_options
        return options

    def engine_owned_sections(self) -> dict[str, Any]:
        sections = dict(self.model_extra or {})
        if self._engine_options is not None:
            sections["engines"] = self._engine_options
        return sections


TRADEDAY_SECTIONS = tuple(f for f in TradedayConfig.model_fields)
