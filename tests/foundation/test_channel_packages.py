"""Channels are packages: one registry, nothing outside adapters/ importing a platform, each
channel's settings declared once in its package and documented in README."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.registry import CHANNELS
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_PACKAGES = {spec.module.split(".")[1] for spec in CHANNELS}
# the WeChat family's shared modules (adapters/wx_*.py) are platform code too
PLATFORM_MODULES = {f"adapters.{p}" for p in PLATFORM_PACKAGES} | {
    f"adapters.{p.stem}" for p in (ROOT / "adapters").glob("wx_*.py")}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_outside_adapters_imports_a_platform_module():
    offenders = []
    for package in ("bots", "core", "config"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _imports(path):
                if any(name == m or name.startswith(m + ".") for m in PLATFORM_MODULES):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == [], "go through adapters.registry (or the Host port) instead:\n" + "\n".join(offenders)



def test_photos_ask_the_channels_and_name_no_platform():
    """Which images a message carries and how they are fetched is each channel's (ChannelSpec.image_refs,
    ChannelAdapter.media_fetcher): the photo worker neither names a platform nor reads its settings."""
    tree = ast.parse((ROOT / "bots" / "photos.py").read_text(encoding="utf-8"))
    names = {c.name for c in CHANNELS} | {p.replace("_", "-") for p in PLATFORM_PACKAGES}
    fields = {f for c in CHANNELS for f in c.settings.model_fields}
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names]
    found += [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in fields]
    assert found == []

def test_every_platform_package_is_in_the_registry():
    folders = {p.parent.name for p in (ROOT / "adapters").glob("*/__init__.py")}
    assert folders == PLATFORM_PACKAGES, "add the new package's CHANNEL to adapters/registry.py"
    assert len({c.name for c in CHANNELS}) == len(CHANNELS)


def test_each_channel_declares_its_variables_once():
    seen: dict[str, str] = {}
    for spec in CHANNELS:
        for field in spec.settings.model_fields:
            assert field not in seen, f"{field} is declared by both {seen[field]} and {spec.name}"
            seen[field] = spec.name
    core_fields = set(Settings.model_fields) - set(seen)
    assert not core_fields & set(seen)


def test_every_channel_variable_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [f"LINLI_{field.upper()}" for spec in CHANNELS for field in spec.settings.model_fields
               if f"LINLI_{field.upper()}" not in readme]
    assert missing == []


def test_channel_variables_are_read_from_the_environment_under_their_documented_names(monkeypatch):
    monkeypatch.setenv("LINLI_WECOM_BOT_MODE", "websocket")
    monkeypatch.setenv("LINLI_WECOM_BOT_ID", "bot-1")
    monkeypatch.setenv("LINLI_WECOM_BOT_SECRET", "s3cret")
    monkeypatch.setenv("LINLI_TELEGRAM_MODE", "polling")
    settings = Settings(_env_file=None)
    assert (settings.wecom_bot_mode, settings.wecom_bot_id, settings.telegram_mode) == ("websocket", "bot-1", "polling")
    assert [c.name for c in CHANNELS if c.enabled(settings)] == ["wecom-bot"]


def test_an_unknown_wecom_bot_mode_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("LINLI_WECOM_BOT_MODE", "webhook")
    with pytest.raises(ValidationError, match="callback|websocket"):
        Settings(_env_file=None)


def test_the_registry_and_the_settings_load_no_platform_sdk():
    code = ("import sys, adapters.registry, config.settings; "
            "print(sorted(m for m in ('aiogram', 'wechatpy', 'websockets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_linli_channels_says_which_are_on_and_how_to_set_up_the_others(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env |= {"LINLI_WECOM_BOT_MODE": "websocket", "LINLI_WECOM_BOT_ID": "b", "LINLI_WECOM_BOT_SECRET": "s"}
    out = subprocess.run([sys.executable, "-m", "bots.cli", "channels"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "[on ] wecom-bot (企业微信群)" in lines and "[off] telegram (Telegram)" in lines
    assert "LINLI_TELEGRAM_TOKEN" in out.stdout and "LINLI_WECOM_BOT_MODE=websocket" in out.stdout
