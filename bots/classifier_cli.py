"""`linli classify`, `linli train`, `linli eval FILE` (issue 3).

bots/cli.py calls ``register(app)``; ``python -m bots.classifier_cli`` runs the same
commands on their own.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import typer


def _stdin_lines():
    buf = getattr(sys.stdin, "buffer", None)
    stream = io.TextIOWrapper(buf, encoding="utf-8", errors="replace", newline=None) if buf is not None else sys.stdin
    for line in stream:
        yield line.rstrip("\r\n")


def classify_lines(lines, jsonl: bool = False):
    """One output dict per input line, in order; never raises on a bad line."""
    from core.classifier import MAX_CHARS
    from core.classify import classify

    for line in lines:
        error = None
        text = line
        if jsonl:
            if not line.strip():
                text = ""
            else:
                try:
                    obj = json.loads(line)
                    text = obj.get("text", "") if isinstance(obj, dict) else ""
                    if not isinstance(text, str):
                        text = "" if text is None else str(text)
                    if not isinstance(obj, dict) or "text" not in obj:
                        error = "no text field"
                except ValueError:
                    text, error = "", "invalid JSON line"
        out = classify(text).as_json(text)
        if len(text) > MAX_CHARS:
            error = f"input longer than {MAX_CHARS} characters: not classified"
        if error:
            out["error"] = error
        yield out


def classify_cmd(
    jsonl: bool = typer.Option(False, "--jsonl", help="Input is JSON lines with a `text` field."),
) -> None:
    """Classify messages from standard input: one JSON object per input line, in order."""
    write = sys.stdout.write
    interactive = sys.stdin.isatty()
    for out in classify_lines(_stdin_lines(), jsonl):
        write(json.dumps(out, ensure_ascii=False) + "\n")
        if interactive:
            sys.stdout.flush()
    sys.stdout.flush()


def train_cmd(
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the model (default: config/classifier/model.json.gz)."),
) -> None:
    """Rebuild the classifier model deterministically from the corpus (needs the `train` extra)."""
    import hashlib

    try:
        from core.classifier import MODEL_PATH
        from core.classifier.train import build_artifact
    except ImportError as exc:  # scikit-learn missing
        typer.echo(f"training needs the train extra (pip install -e '.[train]'): {exc}", err=True)
        raise typer.Exit(2) from exc
    path = Path(output) if output else MODEL_PATH
    meta = build_artifact(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    typer.echo(f"wrote {path} ({path.stat().st_size} bytes, sha256 {digest})")
    typer.echo(f"examples {meta['examples']}, features {meta['features']}, held-out {meta['heldout_excluded']} excluded")
    typer.echo("per class: " + ", ".join(f"{k}={v}" for k, v in meta["per_class"].items()))


def eval_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=(
        "Labelled messages: corpus .txt sections ([category] or [kind:CODE] with '@ group' lines), "
        ".jsonl (text, category, urgency, emergency_kind, group) or .tsv.")),
    errors: int = typer.Option(0, "--errors", help="Also list the first N misclassified messages."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Macro-F1, accuracy, false-ticket / missed-request rates, emergency recall and false alarms,
    Traditional vs Simplified accuracy and the confusion matrix; for lines labelled with an
    emergency kind (config/classifier/corpus/emergency_*.txt), recall by kind and false alarms
    on hard negatives (the file format is in core/classifier/corpus.py)."""
    from core.classifier import default_classifier
    from core.classifier.corpus import load_examples
    from core.classifier.evaluate import evaluate, format_report

    metrics = evaluate(load_examples(file), default_classifier())
    if as_json:
        metrics = {k: v for k, v in metrics.items() if k != "errors" or errors}
        if errors:
            metrics["errors"] = metrics["errors"][:errors]
        typer.echo(json.dumps(metrics, ensure_ascii=False, indent=1))
    else:
        typer.echo(format_report(metrics, show_errors=errors))


def eval_duplicates_cmd(
    files: list[Path] = typer.Argument(None, help="Labelled pair files (JSON lines a, b, same). Default: the shipped "
                                                  "tuning set and its held-out set, reported separately."),
    errors: int = typer.Option(0, "--errors", help="Also list the first N pairs decided wrongly."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Duplicate detection on labelled report pairs: join precision and recall (see core/duplicates_eval.py)."""
    from core.classifier import CONFIG_DIR
    from core.classify import classify
    from core.duplicates_eval import evaluate_pairs, format_pairs_report, load_pairs

    corpus = CONFIG_DIR / "corpus"
    paths = files or [corpus / "duplicate_pairs.jsonl", corpus / "duplicate_pairs_heldout.jsonl",
                      corpus / "duplicate_pairs_voices.jsonl"]
    out = {}
    for path in paths:
        if not path.is_file():
            typer.echo(f"{path}: no such file", err=True)
            raise typer.Exit(2)
        try:
            out[str(path)] = evaluate_pairs(load_pairs([path]), classify)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps({k: {**v, "errors": v["errors"][:errors]} for k, v in out.items()}, ensure_ascii=False, indent=1))
    else:
        typer.echo("\n\n".join(format_pairs_report(k, v, errors) for k, v in out.items()))


def register(app: typer.Typer) -> None:
    """Add the classifier's commands to ``app`` (bots/cli.py's, or this module's own)."""
    app.command("classify")(classify_cmd)
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
    app.command("eval-duplicates")(eval_duplicates_cmd)


def main() -> None:
    app = typer.Typer(add_completion=False, no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":
    main()
