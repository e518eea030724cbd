"""How the admin and the report command write lengths, shares and close codes."""

from __future__ import annotations

from ..protocol import CloseCode

# Codes a client or its browser ends a session with (RFC 6455, section 7.4.1);
# the server's own come from echo.protocol.CloseCode.
CLIENT_CLOSE_CODES = {
    1001: "going away",
    1005: "no status code",
    1006: "connection lost",
}


# Where the name of a server's code says less than its meaning.
SERVER_CLOSE_CODES = {CloseCode.TOO_MANY: "too many errors or messages"}


def close_code_text(code: int | None) -> str:
    """``4408 idle timeout``, ``1006 connection lost``; a dash for no code."""
    if code is None:
        return "—"
    try:
        server_code = CloseCode(code)
    except ValueError:
        meaning = CLIENT_CLOSE_CODES.get(code, "")
    else:
        meaning = SERVER_CLOSE_CODES.get(
            server_code, server_code.name.lower().replace("_", " ")
        )
    return f"{code} {meaning}".rstrip()


def duration_text(seconds: float | None) -> str:
    """``42.0 s``, ``3 min 07 s``, ``2 h 05 min``; a dash for none."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def hours_text(hours: float) -> str:
    """Audio hours to a useful precision: ``0.25 h``, ``12.3 h``, ``1,234 h``."""
    if hours < 10:
        return f"{hours:.2f} h"
    if hours < 1000:
        return f"{hours:.1f} h"
    return f"{hours:,.0f} h"


def share_text(share: float) -> str:
    """``12.5 %``; ``0.05 %`` for rare ones, so a nonzero share never reads 0."""
    percent = share * 100
    return f"{percent:.2f} %" if 0 < percent < 1 else f"{percent:.1f} %"


def milliseconds_text(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:.1f} ms"


def chain_text(chain: list[dict]) -> str:
    """A record's chain as people read it: ``gain (db -6) → robot (hz 50)``.

    Options by name: PostgreSQL's jsonb keeps an object's keys in an order of its
    own, so the order they were written in is not there to follow.
    """
    stages = []
    for stage in chain:
        values = ", ".join(
            f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
            for name, value in sorted(stage["options"].items())
        )
        stages.append(f"{stage['name']} ({values})" if values else stage["name"])
    return " → ".join(stages) or "—"
