"""Settings reach every part of linli the same way: ``.env`` counts for LINLI_TIMEZONE too, and every
``linli`` subcommand (not only ``serve``) redacts secrets from its logs and uses the local time zone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.settings import Settings
from core import timefmt

NEW_YEAR_UTC = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, 01:00 in Berlin, 19:00 in New York


@pytest.fixture
def zone_restored():
    yield
    timefmt.use_zone(timefmt.DEFAULT_ZONE)


def test_a_time_zone_in_dot_env_takes_effect_in_the_runtime(tmp_path, monkeypatch, zone_restored):
    from bots.runtime import Runtime

    monkeypatch.delenv("LINLI_TIMEZONE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LINLI_TIMEZONE=Europe/Berlin\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path, run_outbox=False, run_scheduler=False)
    assert settings.timezone == "Europe/Berlin"
    rt = Runtime(settings)
    try:
        assert timefmt.local(NEW_YEAR_UTC).hour == 1
        assert timefmt.spoken(NEW_YEAR_UTC, NEW_YEAR_UTC) == "今天凌晨1点"
    finally:
        rt.engine.dispose()


def test_an_unknown_time_zone_is_refused_with_what_to_write():
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Shangai'.*IANA name"):
        Settings(timezone="Asia/Shangai", _env_file=None)


def _run_subcommand(tmp_path: Path, body: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``linli probe``: a subcommand added to the real CLI app, whose body is ``body``."""
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import logging, sys
        from bots import cli

        @cli.app.command("probe")
        def probe() -> None:
        {body}

        sys.argv = ["linli", "probe"]
        cli.main()
    """).format(body=textwrap.indent(textwrap.dedent(body), "    ")), encoding="utf-8")
    root = str(Path(__file__).resolve().parents[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")} | {"PYTHONPATH": root} | env
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)


def test_a_subcommand_other_than_serve_keeps_configured_secrets_out_of_its_logs(tmp_path):
    secret = "123456:AAE-secret-bot-token-from-settings"
    out = _run_subcommand(tmp_path, """
        logging.getLogger("httpx").warning("token in a message: %s", TOKEN)
        logging.getLogger("linli.probe").warning("and in an argument: " + TOKEN)
    """.replace("TOKEN", repr(secret)), {"LINLI_TELEGRAM_TOKEN": secret, "LINLI_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "token in a message: [redacted]" in out.stderr
    assert "and in an argument: [redacted]" in out.stderr
    assert secret not in out.stderr + out.stdout


def test_a_subcommand_uses_the_time_zone_from_dot_env(tmp_path):
    (tmp_path / ".env").write_text("LINLI_TIMEZONE=America/New_York\n", encoding="utf-8")
    out = _run_subcommand(tmp_path, """
        from datetime import UTC, datetime
        from core.timefmt import local
        print(local(datetime(2027, 1, 1, tzinfo=UTC)).isoformat())
    """, {"LINLI_DATA_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2026-12-31T19:00:00-05:00"
