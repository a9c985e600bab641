"""Field checks for POST bodies, collecting Yii2-style ``{field, message}`` errors for a 422 array.
Messages follow Yii2's validators ("X cannot be blank.", "X must be a string.", "X is too long (maximum is
N characters).", "X is invalid."), with labels generated from attribute names as Yii2 does.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .clock import parse_date
from .responses import ValidationFailed

_HM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = (True, 1, "1", "true")
_FALSE = (False, 0, "0", "false")


def label(key: str) -> str:
    """Yii2's generated attribute label: ``customer_name`` → ``Customer Name``."""
    return " ".join(part.capitalize() for part in key.replace("-", "_").split("_") if part)


class Checker:
    """Reads one JSON object, remembering every failure; ``done()`` raises them as one 422."""

    def __init__(self, body: Any, prefix: str = "", errors: list[dict[str, str]] | None = None) -> None:
        self.body = body if isinstance(body, dict) else {}
        self.prefix = prefix
        self.errors: list[dict[str, str]] = errors if errors is not None else []

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, message: str) -> None:
        self.errors.append({"field": self.name(key), "message": message})

    def nested(self, value: Any, prefix: str) -> Checker:
        return Checker(value, prefix=prefix, errors=self.errors)

    def present(self, key: str) -> bool:
        return self.body.get(key) not in (None, "")

    def text(self, key: str, *, required: bool = False, max_len: int = 255) -> str | None:
        value = self.body.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(key, f"{label(key)} cannot be blank.")
            return None if value is None else ""
        if not isinstance(value, str):
            self.fail(key, f"{label(key)} must be a string.")
            return None
        if len(value) > max_len:
            self.fail(key, f"{label(key)} is too long (maximum is {max_len} characters).")
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = value.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.fail(key, f'{label(key)} must be either "1" or "0".')
        return None

    def number(self, key: str, *, minimum: float | None = None) -> float | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(key, f"{label(key)} must be a number.")
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(key, f"{label(key)} must be a number.")
            return None
        if minimum is not None and number < minimum:
            self.fail(key, f"{label(key)} must be no less than {minimum:g}.")
            return None
        return number

    def integer(self, key: str, *, minimum: int | None = None) -> int | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.isdigit())
        ):
            self.fail(key, f"{label(key)} must be an integer.")
            return None
        number = int(value)
        if minimum is not None and number < minimum:
            self.fail(key, f"{label(key)} must be no less than {minimum}.")
            return None
        return number

    def enum(self, key: str, choices: tuple) -> Any:
        value = self.body.get(key)
        if value is None:
            return None
        if value not in choices:
            self.fail(key, f"{label(key)} is invalid.")
            return None
        return value

    def day(self, key: str) -> date | None:
        value = self.body.get(key)
        if value is None or value == "":
            return None
        try:
            return parse_date(value)
        except (TypeError, ValueError):
            self.fail(key, f"The format of {label(key)} is invalid.")
            return None

    def hour_minute(self, key: str) -> str | None:
        value = self.body.get(key)
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not _HM.match(value):
            self.fail(key, f"The format of {label(key)} is invalid.")
            return None
        return value

    def email(self, key: str, *, required: bool = False) -> str | None:
        value = self.text(key, required=required)
        if value and not _EMAIL.match(value):
            self.fail(key, f"{label(key)} is not a valid email address.")
            return None
        return value

    def array(self, key: str) -> list:
        """A list of objects; anything else is one error and an empty list."""
        value = self.body.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, f"{label(key)} must be an array of objects.")
            return []
        return value

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
