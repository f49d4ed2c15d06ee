"""Building request bodies and queries from keyword arguments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final


class Omit:
    """The default of an optional argument: "leave the field out", as opposed to ``None``, which sends
    ``null`` (e.g. ``contact_email=None`` clears a supplier's e-mail)."""

    _instance: Omit | None = None

    def __new__(cls) -> Omit:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = Omit()

#: A moment: an aware ``datetime``, a ``date`` (the API reads it as that day), or an ISO 8601 string.
TimestampInput = str | date | datetime


def fields(**values: Any) -> dict[str, Any]:
    """The given fields, without the omitted ones."""
    return {name: value for name, value in values.items() if not isinstance(value, Omit)}
