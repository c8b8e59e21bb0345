"""Settings from the environment and an optional `.env` file, checked once at start.

A bad value is reported as one line per setting (`ConfigError`), never as a traceback, and
the token's value is never part of any message or log line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{10,100}$")
DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]
# Telegram's rule for a webhook secret token: 1-256 of A-Z, a-z, 0-9, _ and -.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

# The environment variable each field is read from, for error messages.
ENV_NAMES = {
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "database_url": "DATABASE_URL",
    "telegram_api_base_url": "TELEGRAM_API_BASE_URL",
    "log_level": "LOG_LEVEL",
    "admin_ids": "ADMIN_IDS",
    "data_dir": "GLUTEBOT_DATA_DIR",
    "nudges_per_second": "NUDGES_PER_SECOND",
    "tick_seconds": "TICK_SECONDS",
    "missed_after_minutes": "MISSED_AFTER_MINUTES",
    "claim_timeout_seconds": "CLAIM_TIMEOUT_SECONDS",
    "log_format": "LOG_FORMAT",
    "webhook_url": "WEBHOOK_URL",
    "webhook_listen": "WEBHOOK_LISTEN",
    "webhook_port": "WEBHOOK_PORT",
    "webhook_secret": "WEBHOOK_SECRET",
    "status_listen": "STATUS_LISTEN",
    "status_port": "STATUS_PORT",
}


class ConfigError(Exception):
    """One or more settings are wrong; the message has one line per setting."""


class Settings(BaseSettings):
    """Everything an operator can set. Field names map to upper-case environment names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    telegram_bot_token: SecretStr | None = None
    data_dir: Path = Field(default=Path("data"), validation_alias="GLUTEBOT_DATA_DIR")
    database_url: str = ""
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Delivery: Telegram allows about 30 messages a second; nudges leave room for replies.
    nudges_per_second: float = Field(default=29.0, gt=0, le=1000)
    tick_seconds: float = Field(default=1.0, ge=0.5, le=300)
    missed_after_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # A claimed message not recorded within this time belongs to a dispatcher that died.
    claim_timeout_seconds: float = Field(default=120.0, ge=1, le=3600)
    # Webhook mode (`glutebot run --webhook`): Telegram posts updates to WEBHOOK_URL, which
    # a reverse proxy forwards to WEBHOOK_LISTEN:WEBHOOK_PORT; every request must carry
    # WEBHOOK_SECRET in its X-Telegram-Bot-Api-Secret-Token header.
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    # The status server: GET /health and GET /metrics (Prometheus). Port 0 turns it off.
    status_listen: str = "127.0.0.1"
    status_port: int = Field(default=9108, ge=0, le=65535)

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not TOKEN_PATTERN.match(value.strip()):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("does not look like a BotFather token (digits, a colon, then letters)")
        return value.strip()

    @field_validator("database_url", mode="before")
    @classmethod
    def _check_database_url(cls, value: object) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        if not isinstance(value, str):
            raise ValueError("must be a database URL")
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(
                "is not a database URL (try sqlite:///data/glutebot.db or "
                "postgresql://user@host/dbname)"
            ) from None
        driver = DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(f"uses '{url.drivername}'; Glutebot supports sqlite and postgresql")
        if driver.startswith("sqlite") and not url.database:
            raise ValueError("needs a file path, for example sqlite:///data/glutebot.db")
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("telegram_api_base_url", mode="before")
    @classmethod
    def _check_base_url(cls, value: object) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_API_BASE_URL
        if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", value.strip()):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org/bot")
        return value.strip()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _check_webhook_url(cls, value: object) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", value.strip()):
            raise ValueError(
                "must be the public https URL Telegram posts to, e.g. https://bot.example.com/telegram"
            )
        return value.strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _check_webhook_secret(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not SECRET_PATTERN.match(value.strip()):
            # Never echo the value.
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value.strip()

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in re.split(r"[,\s]+", value.strip()) if part]
            if not all(re.fullmatch(r"\d{1,20}", part) for part in parts):
                raise ValueError("must be Telegram user ids separated by commas, e.g. 12345,67890")
            return frozenset(int(part) for part in parts)
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            path = (self.data_dir / "glutebot.db").resolve()
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///{path}")
        return self

    @property
    def token(self) -> str | None:
        """The bot token, or None when Glutebot should run against the local Telegram."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def secret(self) -> str | None:
        """The webhook secret token, if set."""
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    @property
    def database_label(self) -> str:
        """The database URL with any password hidden, safe to print."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings, or raise ConfigError naming each bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "settings"
            name = ENV_NAMES.get(field, field.upper())
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name} {message}")
        raise ConfigError("\n".join(lines)) from None
