"""Settings from environment variables ``LINLI_*`` (and an optional ``.env`` file).

Every variable is documented in README.md. Defaults give a working local service:
embedded SQLite under ``./data`` and the web playground.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "change-me-in-production"


class Settings(BaseSettings):
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
    # None: on exactly when no real channel (Telegram, WeChat, WeCom) is configured, open to anyone;
    # true with a real channel configured: on, but only for signed-in console accounts.
    playground: bool | None = None
    playground_posts_per_minute: int = Field(30, ge=0)  # per client address; 0: no limit
    playground_room_posts_per_minute: int = Field(120, ge=0)  # per room; 0: no limit
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

    # Telegram (issue 4)
    telegram_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base: str | None = None
    telegram_mode: str = Field("webhook", pattern="^(webhook|polling)$")

    # WeChat Official Account (issue 5)
    wechat_token: str | None = None
    wechat_aes_key: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_api_base: str | None = None

    # WeCom self-built app
    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base: str | None = None

    # WeCom AI bot (group @-mentions)
    wecom_bot_token: str | None = None
    wecom_bot_aes_key: str | None = None

    # WeCom group robot webhooks: comma-separated name=url pairs
    wecom_robot_webhooks: str | None = None

    # WeCom customer groups through the chat archive (会话内容存档), issue 16
    wecom_archive_secret: str | None = None  # the chat-archive Secret; with private keys turns the channel on
    wecom_archive_corp_id: str | None = None  # default: LINLI_WECOM_CORP_ID
    wecom_archive_private_keys: dict[int, str] = Field(default_factory=dict)  # publickey_ver → PEM text or file path
    wecom_archive_token: str | None = None  # the archive's event callback Token / EncodingAESKey (optional)
    wecom_archive_aes_key: str | None = None
    wecom_archive_pull_interval_seconds: float = 60.0  # fallback pull when no callback arrives
    wecom_archive_batch_size: int = Field(1000, ge=1, le=1000)
    wecom_archive_timeout_seconds: int = Field(10, ge=1, le=60)
    wecom_archive_proxy: str | None = None  # e.g. socks5://10.0.0.1:8081, for the SDK's own connections
    wecom_archive_proxy_password: str | None = None  # user:password for that proxy
    wecom_archive_require_consent: bool = True
    wecom_archive_contact_secret: str | None = None  # customer-contact Secret: residents' names from externalcontact/get
    wecom_archive_mass_message: bool = False  # also submit answers as 企业群发 the group owner confirms
    wecom_archive_mass_daily_limit: int = Field(1, ge=0)
    wecom_archive_mass_monthly_limit: int = Field(4, ge=0)

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
