"""Settings from environment variables ``LINLI_*`` (and an optional ``.env`` file).

Every variable is documented in README.md. Defaults give a working local service:
embedded SQLite under ``./data`` and the web playground.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_DIR = Path(__file__).resolve().parent


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
    secret_key: str = "change-me-in-production"
    playground: bool = True
    max_body_bytes: int = 1_000_000
    timezone: str = "Asia/Shanghai"

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

    redis_url: str | None = None

    # Open311 GeoReport v2 (/open311/v2): true lets anyone read confirmed requests, masked and
    # placed no finer than the community; writes always need an API key
    open311_public: bool = False
    open311_contact: str = ""

    # Digests (日报/周报) to every staff room, local time; "off" switches one off
    report_daily_at: str = "08:30"
    report_weekly_at: str = "08:30"
    report_weekly_on: str = "mon"  # shown in discovery.json / discovery.xml, e.g. 区指挥中心 0571-…

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'linli.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build ``Settings(...)`` directly instead."""
    return Settings()
