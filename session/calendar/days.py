"""What the calendar answers: a day's session (``SessionDay``) and the market's state at an instant."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

EXCHANGE_HOLIDAY = "Exchange holiday"  # a listed closure whose name no source carries
PMC_SPECIAL_HOURS = "Special hours"  # pmc moved the open (or the close later) without a name
DEFAULT_EXTENDED_HOURS = timedelta(hours=2)  # default pre/post market length
# How far get_next_market_open/close look before giving up: longer than any real closure.
SEARCH_LIMIT_DAYS = 400


class MarketState(str, Enum):
    PRE_MARKET = "PRE_MARKET"
    TRADING = "TRADING"
    POST_MARKET = "POST_MARKET"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class SessionDay:
    date: date
    calendar: str
    timezone: str
    known: bool
    is_trading_day: bool
    open: datetime | None
    close: datetime | None
    early_close: bool
    holiday: str | None
    special_session: str | None
    # Pauses inside [open, close) as tz-aware datetimes; not part of to_json (its keys are fixed).
    breaks: tuple[tuple[datetime, datetime], ...] = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        if not self.known:
            return "unknown"
        if not self.is_trading_day:
            return "closed"
        if self.special_session:
            return "special"
        if self.early_close:
            return "early_close"
        return "regular"

    def trading_intervals(self) -> list[tuple[datetime, datetime]]:
        """The half-open spans [start, end) in which the market trades on this day."""
        if not self.is_trading_day or self.open is None or self.close is None:
            return []
        spans: list[tuple[datetime, datetime]] = []
        start = self.open
        for pause_start, pause_end in self.breaks:
            spans.append((start, pause_start))
            start = pause_end
        spans.append((start, self.close))
        return spans

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "calendar": self.calendar,
            "timezone": self.timezone,
            "known": self.known,
            "is_trading_day": self.is_trading_day,
            "open": self.open.isoformat() if self.open else None,
            "close": self.close.isoformat() if self.close else None,
            "early_close": self.early_close,
            "holiday": self.holiday,
            "special_session": self.special_session,
        }
