"""The Bot API's wire rules: how parameters are read and how errors are answered.

Over HTTP every parameter arrives as text (objects as JSON text), in-process they arrive as
Python values. `Params` reads both the same way, field by field, so `text="123"` stays a
string while `chat_id="123"` becomes a number, exactly as Telegram's server does it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file sent along with a call as a multipart part."""

    filename: str
    content: bytes
    mime_type: str


class ApiError(Exception):
    """A Bot API error reply: HTTP status and Telegram's own description."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        """The JSON object Telegram answers with."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class NoResponse(Exception):
    """The call gets no answer at all: the client will time out."""


def bad_request(detail: str) -> ApiError:
    """A 400 error, worded like Telegram's ("Bad Request: ...")."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """A 403 error, worded like Telegram's ("Forbidden: ...")."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-control error telling the bot how many seconds to wait."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


class Params:
    """One call's parameters, read like the Bot API reads them: any value may be text."""

    __slots__ = ("_files", "_values")

    def __init__(
        self, values: Mapping[str, object], files: Mapping[str, UploadedFile] | None = None
    ) -> None:
        self._values = values
        self._files = files or {}

    def get_str(self, name: str) -> str | None:
        """The value as text, or None when absent."""
        value = self._values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list | bool) else str(value)

    def get_int(self, name: str) -> int | None:
        """The value as an integer, or None when absent; 400 when it is not one."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str) -> float | None:
        """The value as a number, or None when absent; 400 when it is not one."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        """The value as a flag; absent means False."""
        value = self._values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, *, error: str) -> Any:
        """The value as a JSON object or array (decoded if it came as text); `error` if broken."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(error) from None

    def get_file(self, name: str) -> UploadedFile | None:
        """The file uploaded for this field, directly or through an attach://name reference."""
        if name in self._files:
            return self._files[name]
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self._files.get(value.removeprefix("attach://"))
        return None
