"""/docs and /redoc work without internet: assets come from the server itself, never a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_name_only_local_assets_and_the_assets_are_served(live_server, page):
    response = httpx.get(live_server.url + page)
    html = response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html and not EXTERNAL.search(html)
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/"), asset
        response = httpx.get(live_server.url + asset)
        assert response.status_code == 200 and len(response.content) > 200, asset


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("page_path,operation", [
    ("/docs", ".opblock-summary-path[data-path='/api/tickets']"),
    ("/redoc", "li[data-item-id*='api']"),  # ReDoc's menu of operations
])
def test_the_docs_render_in_chromium_with_every_non_loopback_request_blocked(live_server, browser, page_path, operation):
    context = browser.new_context()
    blocked: list[str] = []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    try:
        page.goto(live_server.url + page_path)
        page.locator(operation).first.wait_for(timeout=20_000)
        if page_path == "/docs":
            assert page.locator(".opblock").count() >= 5  # the operations are listed
            assert page.locator(".opblock-summary-path[data-path='/open311/v2/requests.json']").count() >= 1
    finally:
        context.close()
    assert blocked == []
