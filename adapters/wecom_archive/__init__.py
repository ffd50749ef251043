"""WeCom customer groups (外部群) through the official chat archive (会话内容存档).

No bot can join a customer group; the organisation reads the groups its members are in
through the archive, with the residents' notice and consent. Everything platform-specific
lives here:

- :mod:`.source` — the :class:`~.source.ArchiveSource` interface (pull records from a ``seq``
  cursor, decrypt one, fetch media) and :func:`~.source.open_record`, which unwraps a record's
  RSA-encrypted random key with the private key of its ``publickey_ver`` and decrypts it;
- :mod:`.sdk` — the real source, Tencent's Finance SDK through ``pyweworkfinance`` (imported
  only when the channel is configured; its logger is kept quiet: it prints secrets at DEBUG);
- :mod:`.fake` — a source that encrypts records the way the archive does, for tests and demos;
- :mod:`.records` — a decrypted record → :class:`core.message.Message` (chat
  ``wecom-archive:<roomid>``), a consent event, or the reason it is dropped or skipped;
- :mod:`.contacts` — residents' names from the customer-contact API (``externalcontact/get``);
- :mod:`.relay` — the bot's answers to a group, delivered to the group's owner through the
  WeCom app as a ready-to-send message (or as a 企业群发 the owner confirms).

Nothing here touches tickets; ``.channel`` wires it.
"""


from __future__ import annotations

from pydantic import BaseModel, Field

from adapters.base import Capabilities, ChannelSpec, RateLimit

PLATFORM = "wecom-archive"


class WeComArchiveSettings(BaseModel):
    """LINLI_WECOM_ARCHIVE_*: the secret with private keys turns the channel on."""

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


CHANNEL = ChannelSpec(
    name=PLATFORM, title="企业微信客户群", module="adapters.wecom_archive.channel", settings=WeComArchiveSettings,
    enabled=lambda s: bool(s.wecom_archive_secret and s.wecom_archive_private_keys),
    # Answers reach a customer group through its owner (the grid worker), who posts them; the app
    # may send a member 30 messages a minute.
    capabilities=Capabilities(rate_limit=RateLimit(per_chat_per_minute=30)),
    setup="Enable 会话内容存档 for the corp, set LINLI_WECOM_ARCHIVE_SECRET and LINLI_WECOM_ARCHIVE_PRIVATE_KEYS "
          "(and the WeCom app's settings, through which answers reach the group owners).",
)
