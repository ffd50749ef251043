"""Residents' names from the customer-contact API (``externalcontact/get``), cached.

Synchronous (the puller runs in a worker thread). Any failure gives the neutral name: a name
is a courtesy, never a reason to hold a message back.
"""

from __future__ import annotations

import logging
import time

import httpx

from adapters.wecom_archive.records import NEUTRAL_NAME

log = logging.getLogger("linli.wecom_archive")

NAME_TTL_SECONDS = 24 * 3600
FAILED_TTL_SECONDS = 600  # a failed lookup is tried again after this long
TOKEN_MARGIN_SECONDS = 300


class ContactNames:
    """``names(external_userid)`` → the contact's WeChat name, or :data:`NEUTRAL_NAME`."""

    def __init__(self, corp_id: str, secret: str, api_base: str, *, timeout: float = 5.0):
        self.corp_id, self.secret, self.api_base = corp_id, secret, api_base.rstrip("/")
        self.client = httpx.Client(timeout=timeout, headers={"User-Agent": "linli"})
        self._token: tuple[str, float] | None = None
        self._names: dict[str, tuple[str, float]] = {}

    def _access_token(self) -> str:
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        data = self.client.get(f"{self.api_base}/cgi-bin/gettoken",
                               params={"corpid": self.corp_id, "corpsecret": self.secret}).json()
        if data.get("errcode"):
            raise RuntimeError(f"gettoken answered errcode {data.get('errcode')}")
        self._token = (data["access_token"], time.monotonic() + int(data.get("expires_in") or 7200) - TOKEN_MARGIN_SECONDS)
        return self._token[0]

    def __call__(self, user_id: str) -> str:
        cached = self._names.get(user_id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        name, ttl = NEUTRAL_NAME, FAILED_TTL_SECONDS
        try:
            data = self.client.get(f"{self.api_base}/cgi-bin/externalcontact/get",
                                   params={"access_token": self._access_token(), "external_userid": user_id}).json()
            if data.get("errcode") in (40001, 40014, 42001):
                self._token = None  # expired: the next lookup fetches a new one
            found = (data.get("external_contact") or {}).get("name")
            if isinstance(found, str) and found.strip():
                name, ttl = found.strip()[:64], NAME_TTL_SECONDS
        except (httpx.HTTPError, ValueError, RuntimeError, KeyError) as exc:
            log.warning("customer-contact name lookup failed (%s); using the neutral name", type(exc).__name__)
        self._names[user_id] = (name, time.monotonic() + ttl)
        return name

    def close(self) -> None:
        self.client.close()
