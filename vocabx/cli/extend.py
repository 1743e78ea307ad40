"""`vocabx extend` (grow a tokenizer, and a model's embeddings, with domain terms) and `vocabx verify` (check the
guarantees on any base/extended pair)."""

from __future__ import annotations

from typing import Any

import click

from vocabx.cli.common import config_option, emit_json, handle_errors, json_option, make_config, progress_enabled

_MARK = {True: "ok  ", False: "FAIL", None: "n/a "}


@click.command("extend")
@click.argument("base")
@click.option("--terms", default=None, help="An analyze output dir, its terms.tsv, or a list with one term per line.")
@click.option("--budget", type=int, default=None, help="New vocabulary entries to add, intermediates included.")
@click.option("--out", default=None, help="Output directory (refused if it exists, unless --force).")
@click.option("--corpus", multiple=True, help="Domain text for choosing entries and for the checks [the analyze run's corpus].")
@click.option("--text-field", default=None, help="JSON key or CSV column(s) of the corpus text, e.g. title,ask,answer.")
@click.option("--corpus-max-chars", type=int, default=None, help="Read at most this many corpus characters.")
@click.option("--general", multiple=True, help="General-text corpus for the never-longer check (SPEC#FIELD names the field).")
@click.option("--mode", type=click.Choice(["terms", "train", "added-tokens", "merge"]), default="terms", show_default=True,
              help="terms: add the ranked terms; train: learn entries from the corpus (continued BPE); baselines: "
                   "added-tokens (add_tokens), merge (Chinese-LLaMA's SentencePiece piece merge).")
@click.option("--init", default="subword-mean", show_default=True, help="Embedding initialization for new rows (model bases): subword-mean (keeps a tied head tied), subword-last, subword-first, mean, mean-noise, subword-mean-norm, random, zero.")
@click.option("--init-output", default=None, help="Output-side (lm_head) init when it differs from --init (unties a tied head). Best measured without training: --init subword-last --init-output subword-first; also logit-match.")
@click.option("--pad-to-multiple-of", type=int, default=None, help="Pad embedding rows to a multiple of this (model bases), e.g. 64: matmul shapes that GPU tensor cores and kernels handle at full speed.")
@click.option("--check-docs", type=int, default=1000, show_default=True, help="Documents per corpus the checks encode.")
@click.option("--allow-failed", multiple=True, type=click.Choice(["reachable", "never_longer"]),
              help="Write OUT even if this guarantee fails (repeatable); it is recorded as failed. Other failures always stop extend.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@json_option
@config_option
@handle_errors
def extend(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Grow BASE's vocabulary with real entries (merges, pieces) for domain terms, and write OUT.

    BASE is a tokenizer (anything `analyze --tokenizer` accepts) or a model (smollm2-135m, a model directory);
    with a model, its embeddings are resized and the new rows initialized too. The guarantees (old ids kept,
    lossless, reachable, never longer, fast/slow agree, deterministic) are checked before OUT is written.

    \b
    vocabx extend smollm2 --terms runs/analysis --budget 5000 --out runs/tok
    vocabx extend smollm2 --mode train --corpus dialogues.csv --text-field title,ask,answer --budget 20000 --out runs/tok
    vocabx extend smollm2-135m --terms terms.txt --budget 2000 --out runs/model --init subword-mean
    """
    from vocabx.extend.api import ExtendConfig
    from vocabx.extend.api import extend as run_extend

    flags["allow_failed"] = flags.get("allow_failed") or None  # none given: the config file or the default
    if flags.get("out") is None and not config_file:
        raise click.UsageError("missing --out (the directory to write)")
    config = make_config(ExtendConfig, config_file, **flags)
    result = run_extend(config, progress=progress_enabled())
    if as_json:
        emit_json(result)
        return
    counts = result.counts
    click.echo(f"wrote {result.out} ({result.family}, {result.seconds:.1f} s)")
    click.echo(
        f"  added {counts['added']} entries ({counts['added_terms']} terms, {counts['added_intermediates']} intermediates);"
        f" vocabulary {counts['base_vocab_size']} -> {counts['extended_vocab_size']}"
    )
    skips = {k.removeprefix("skipped_"): v for k, v in counts.items() if k.startswith("skipped_") and v}
    if skips:
        click.echo("  skipped: " + ", ".join(f"{k} {v}" for k, v in skips.items()))
    for note in result.notes:
        click.echo(f"  note: {note}")
    _render_checks(result.checks)
    if result.model:
        click.echo("  model: " + ", ".join(f"{k} {v}" for k, v in result.model.items() if not isinstance(v, (dict, list))))


@click.command("verify")
@click.argument("base")
@click.argument("extended")
@click.option("--corpus", multiple=True, help="Domain text for the lossless, reachability and length checks.")
@click.option("--text-field", default=None, help="JSON key or CSV column(s) of the corpus text.")
@click.option("--general", multiple=True, help="General-text corpus for the never-longer check (SPEC#FIELD names the field).")
@click.option("--check-docs", type=int, default=1000, show_default=True, help="Documents per corpus to encode.")
@click.option("--runtime", type=click.Choice(["none", "llama.cpp"]), default="none", show_default=True,
              help="Also check EXTENDED in llama.cpp: GGUF tokenization, detokenization, greedy generation.")
@click.option("--generate-tokens", type=int, default=8, show_default=True,
              help="Tokens of each greedy generation compared with --runtime llama.cpp (0: none).")
@click.option("--pre", default=None, help="llama.cpp pre-tokenizer type, where EXTENDED's manifest does not record it.")
@json_option
@config_option
@handle_errors
def verify(as_json: bool, config_file: str | None, **flags: Any) -> None:
    """Check that EXTENDED is a correct extension of BASE; exit 1 if a guarantee fails.

    \b
    vocabx verify smollm2 runs/tok --corpus dialogues.csv --text-field title,ask,answer
    vocabx verify smollm2 runs/tok --general general-en/ --general tnews.json#sentence
    vocabx verify smollm2-135m runs/model --corpus heldout.txt --runtime llama.cpp
    """
    from vocabx.extend.api import VerifyConfig, verify_pair

    config = make_config(VerifyConfig, config_file, **flags)
    report = verify_pair(config)
    if as_json:
        emit_json({"ok": report.ok, "checks": report.as_dict()})
    else:
        _render_checks(report.as_dict())
        click.echo("all guarantees hold" if report.ok else "some guarantees FAIL")
    if not report.ok:
        raise SystemExit(1)


def _render_checks(checks: dict[str, Any]) -> None:
    for name, check in checks.items():
        click.echo(f"  [{_MARK[check['passed']]}] {name}: {check['summary']}")
