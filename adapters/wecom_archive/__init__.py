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

PLATFORM = "wecom-archive"
