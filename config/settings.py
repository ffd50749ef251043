"""Settings from environment variables ``LINLI_*`` (and an optional ``.env`` file).

Every variable is documented in README.md. Each channel declares its own variables in its
package (e.g. ``adapters/telegram/__init__.py``); :class:`Settings` composes them. Defaults give a working local service:
embedded SQLite under ``./data`` and the web playground.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.registry import settings_models

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "change-me-in-production"


class Settings(BaseSettings, *settings_models()):  # type: ignore[misc]
    """linli's settings; each channel's own (LINLI_TELEGRAM_* …) come from its package (adapters.registry)."""

    model_config = SettingsConfigDict(env_prefix="LINLI_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite:///<data_dir>/linli.sqlite3

    # Editable defaults (YAML files); the examples under config/ are used when unset.
    grids_file: Path = CONFIG_DIR / "grids.example.yaml"
    templates_file: Path = CONFIG_DIR / "templates.yaml"
    routing_file: Path = CONFIG_DIR / "routing.yaml"
    sla_file: Path = CONFIG_DIR / "sla.yaml"

    # Web
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEFAULT_SECRET_KEY  # `linli serve` refuses a non-loopback --host while it is this
    max_body_bytes: int = 1_000_000
    timezone: str = "Asia/Shanghai"  # IANA name; local time for deadlines said aloud, digests, statistics

    # Workers
    run_scheduler: bool = True  # SLA sweeps (one instance wins a database lock)
    run_outbox: bool = True
    run_inbox: bool = True  # process deferred messages here; false: this instance only accepts (another one processes)
    log_format: str = Field("text", pattern="^(text|json)$")  # json: one JSON object per log line
    inbox_defer: bool = True  # store, acknowledge, let the inbox worker process; inline channels (WeChat OA, WeCom AI bot) pass defer=False
    outbox_poll_seconds: float = 0.5
    sweep_interval_seconds: float = 60.0
    duplicate_window_hours: float = 72.0
    survey_timeout_hours: float = 72.0
    ask_to_file_per_hour: int = 3  # 「需要登记为诉求吗？」 at most this often per person; beyond it the classifier decides alone
    inbox_retention_days: float = Field(30.0, ge=0)  # ignored chatter leaves the inbox after this; 0: kept forever
    question_expiry_hours: float = 2.0  # a follow-up question (where? file it? same flat?) unanswered this long is forgotten

    # Photos (issue 15): images sent with requests, fetched by a background worker into the data
    # directory (photos/ by sha256) or, when photos_s3_bucket is set, an S3-compatible store
    run_photos: bool = True  # fetch photos in this instance
    photos_max_bytes: int = Field(10_000_000, ge=1)
    photos_poll_seconds: float = 2.0
    photos_s3_bucket: str | None = None
    photos_s3_endpoint: str | None = None  # e.g. https://oss-cn-hangzhou.aliyuncs.com, http://minio:9000
    photos_s3_region: str = "us-east-1"
    photos_s3_access_key: str | None = None
    photos_s3_secret_key: str | None = None
    photos_s3_prefix: str = "photos/"

    redis_url: str | None = None

    # Console sign-in (issue 12): wrong passwords before an account locks, for how long, and
    # sign-in attempts per client address per window (successful ones are given back)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_seconds: int = Field(300, ge=1)
    login_attempts_per_address: int = Field(20, ge=1)
    login_address_window_seconds: int = Field(300, ge=1)

    # Open311 GeoReport v2 (/open311/v2): true lets anyone read confirmed requests, masked and
    # placed no finer than the community; writes always need an API key
    open311_public: bool = False
    open311_contact: str = ""  # shown in discovery.json / discovery.xml, e.g. 区指挥中心 0571-…

    # Digests (日报/周报) to every staff room, local time; "off" switches one off
    report_daily_at: str = "08:30"
    report_weekly_at: str = "08:30"
    report_weekly_on: str = "mon"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @property
    def inbox_retention(self) -> timedelta | None:
        """How long ignored chatter stays in the inbox; None: forever."""
        return timedelta(days=self.inbox_retention_days) if self.inbox_retention_days else None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'linli.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build ``Settings(...)`` directly instead."""
    return Settings()
