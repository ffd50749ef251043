"""`linli classify`, `linli train`, `linli eval` through the commands themselves."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bots.classifier_cli import register
from core.classifier import MODEL_PATH
from core.classifier.corpus import HELDOUT_FILE

ROOT = Path(__file__).resolve().parents[2]


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps typer in multi-command mode
        pass

    return app


def test_classify_plain_lines_one_object_per_line_in_order():
    lines = ["楼上漏水到我家，沟通无效，怎么办？", "", "早上好", "樓上漏水到我家", "3栋502着火了"]
    out = subprocess.run(
        [sys.executable, "-m", "bots.classifier_cli", "classify"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout.splitlines()
    objs = [json.loads(o) for o in out]
    assert [o["text"] for o in objs] == lines
    assert objs[0]["is_request"] and objs[0]["category"] == "neighbor"
    assert objs[1]["category"] == "chatter" and not objs[1]["is_request"]
    assert objs[2]["category"] == "chatter"
    assert objs[3]["category"] == "neighbor"
    assert objs[4]["urgency"] == "emergency" and objs[4]["location"] == "3栋502"
    assert "樓上" in out[3]  # ensure_ascii=False
    for o in objs:
        assert (o["category"] == "chatter") == (not o["is_request"])
        assert set(o) >= {"text", "is_request", "category", "urgency", "confidence"}


def test_classify_jsonl_reads_the_text_field_and_survives_bad_lines():
    stdin = '{"text": "井盖丢了", "id": 1}\nnot json\n\n{"id": 2}\n'
    res = CliRunner().invoke(_app(), ["classify", "--jsonl"], input=stdin)
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.output.splitlines()]
    assert len(objs) == 4
    assert objs[0]["category"] == "facilities" and objs[0]["urgency"] == "urgent"
    assert objs[1]["error"] and objs[1]["category"] == "chatter"
    assert objs[2]["text"] == "" and objs[2]["category"] == "chatter"
    assert objs[3]["category"] == "chatter"


def test_classify_handles_thousands_of_lines():
    lines = ["楼上漏水到我家", "早上好", "路灯不亮"] * 1000
    res = CliRunner().invoke(_app(), ["classify"], input="\n".join(lines) + "\n")
    assert res.exit_code == 0
    assert len(res.output.splitlines()) == 3000


def test_eval_prints_the_issue_metrics():
    res = CliRunner().invoke(_app(), ["eval", str(HELDOUT_FILE)])
    assert res.exit_code == 0, res.output
    for label in ("macro-F1", "accuracy", "false-ticket rate", "missed-request rate", "emergency recall",
                  "false-alarm rate", "Traditional accuracy", "Simplified accuracy", "confusion matrix"):
        assert label in res.output


def test_eval_reads_jsonl(tmp_path):
    f = tmp_path / "gold.jsonl"
    f.write_text('{"text": "楼上漏水到我家", "category": "neighbor"}\n{"text": "早上好", "category": "chatter"}\n', encoding="utf-8")
    res = CliRunner().invoke(_app(), ["eval", str(f), "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.output)
    assert m["accuracy"] == 1.0 and m["false_ticket_rate"] == 0.0


@pytest.mark.slow  # trains the model: half a minute
def test_train_rebuilds_the_committed_artifact_byte_for_byte(tmp_path):
    out = tmp_path / "model.json.gz"
    res = CliRunner().invoke(_app(), ["train", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == MODEL_PATH.read_bytes(), "config/classifier/model.json.gz is stale: run `linli train`"
    art = json.loads(gzip.decompress(out.read_bytes()))
    assert art["meta"]["heldout_excluded"] == "heldout.txt"
