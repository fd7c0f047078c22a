"""Read ``KEY=VALUE`` secret files (``secrets/kite.env``, ``tokens/kite.env``).

The format is the common subset of shell and dotenv: ``#`` comments, blank lines, an
optional ``export`` prefix, single quotes (literal) and double quotes (with ``\\"``,
``\\\\``, ``\\n`` escapes), and unquoted values whose trailing `` # comment`` is dropped.

These files hold secrets, so no error message ever quotes a line or a value: a
malformed line is reported as ``file:line`` and what is wrong with its shape.
"""
from __future__ import annotations

import re
from pathlib import Path

from core.errors import ConfigError

_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$")
_EXPORT = re.compile(r"^export[ \t]+")
_DOUBLE_QUOTE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "$": "$", "`": "`"}
_HINT = "write one KEY=VALUE per line; quote values with spaces; comments start with #"


class _Malformed(Exception):
    """Internal: the shape of a line is wrong (the message never contains the value)."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``path`` into a dict (a later duplicate key wins, as in a shell).

    Raises FileNotFoundError when the file does not exist (the caller decides whether
    that is an error), and ConfigError naming ``file:line`` for a malformed line, for a
    file that is not UTF-8 text or that cannot be read.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a KEY=VALUE file") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or type(exc).__name__}",
            hint=f"check the owner and permissions of {path}",
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", hint=_HINT) from None

    values: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = _EXPORT.sub("", stripped, count=1)
        match = _ASSIGNMENT.match(stripped)
        if not match:
            raise ConfigError(f"{path}:{lineno}: not a KEY=VALUE line", hint=_HINT)
        key, rest = match.group(1), match.group(2)
        try:
            values[key] = _parse_value(rest)
        except _Malformed as exc:
            # `from None`: the internal exception's context holds nothing secret, but a
            # traceback of this parser should not invite anyone to print the line.
            raise ConfigError(f"{path}:{lineno}: {exc} (key {key})", hint=_HINT) from None
    return values


def _parse_value(rest: str) -> str:
    if rest.startswith('"'):
        value, after = _parse_double_quoted(rest)
    elif rest.startswith("'"):
        end = rest.find("'", 1)
        if end < 0:
            raise _Malformed("unterminated single-quoted value")
        value, after = rest[1:end], rest[end + 1 :]
    else:
        # Unquoted: a `#` preceded by whitespace starts a comment; one inside a word
        # (abc#def) is part of the value, as in a shell.
        return re.split(r"[ \t]+#", rest, maxsplit=1)[0].strip()
    after = after.strip()
    if after and not after.startswith("#"):
        raise _Malformed("unexpected text after the closing quote")
    return value


def _parse_double_quoted(rest: str) -> tuple[str, str]:
    out: list[str] = []
    i = 1
    while i < len(rest):
        ch = rest[i]
        if ch == "\\" and i + 1 < len(rest):
            nxt = rest[i + 1]
            out.append(_DOUBLE_QUOTE_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            return "".join(out), rest[i + 1 :]
        out.append(ch)
        i += 1
    raise _Malformed("unterminated double-quoted value")
