"""Progress lines for long steps (`vocabx.progress.step`): on stderr only when asked for, naming the step while it
runs and its time once done; and the commands' long steps show them (eval, bench)."""

from __future__ import annotations

import pytest

from vocabx.progress import step


def test_a_step_names_itself_then_its_time_on_stderr_only(capfd) -> None:
    with step("loading model x", progress=True):
        pass
    out, err = capfd.readouterr()
    assert out == "" and "loading model x ..." in err and "loading model x: 0.0 s" in err
    with step("quiet", progress=False):
        pass
    assert capfd.readouterr() == ("", "")


def test_a_failed_step_says_so_and_the_error_passes(capfd) -> None:
    with pytest.raises(ValueError), step("reading corpus", progress=True):
        raise ValueError("bad")
    assert "reading corpus: failed after" in capfd.readouterr().err


def test_bench_shows_each_long_step(tmp_path, capfd) -> None:
    """Loading every tokenizer, reading every corpus, the pairs (named in the bar) and writing the report."""
    from vocabx.bench import BenchConfig, bench

    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world\nsecond line\n", encoding="utf-8")
    bench(BenchConfig(tokenizers=("a=smollm2", "b=smollm2"), corpora=(str(corpus),), repeats=0, charts=False,
                      out=str(tmp_path / "out")), progress=True)
    err = capfd.readouterr().err
    for line in ("loading tokenizer a=smollm2:", "loading tokenizer b=smollm2:", "reading corpus c", "bench: 100%",
                 "b on c", f"writing {tmp_path / 'out'}:"):
        assert line in err, line


def test_eval_shows_each_long_step(tmp_path, capfd) -> None:
    """Reading, loading each model, scoring (bars named by model and corpus), decoding, the new rows, writing."""
    from tests._tiny_llama import write_corpora, write_tiny_model
    from vocabx.eval.api import evaluate
    from vocabx.eval.config import EvalConfig

    model, corpora = write_tiny_model(tmp_path / "ext"), write_corpora(tmp_path / "corpora")
    base = write_tiny_model(tmp_path / "base", extended=False)
    capfd.readouterr()  # writing the fixture models drew transformers' bars
    evaluate(EvalConfig(model=str(model), base=str(base), domain=(f"med={corpora['domain']}",), max_docs=4,
                        decode_tokens=2, decode_prompts=1, plots=False, out=str(tmp_path / "out")), progress=True)
    err = capfd.readouterr().err
    for line in ("reading the held-out text:", f"loading model ({model}):", "model: bits/char on med",
                 "model: decoding speed", "model: new-token usage and rows:", f"loading base ({base}):",
                 "base: bits/char on med", f"writing {tmp_path / 'out'}:"):
        assert line in err, line
    assert "Loading weights" not in err and "Writing model shards" not in err  # transformers' own bars stay out


def test_train_cpt_shows_each_long_step_and_names_its_stage_bars(tmp_path, capfd) -> None:
    """Loading, tokenizing, one bar per stage (named, with the loss), writing the final model; no transformers
    bar (its 'Writing model shards' at every checkpoint) in between, and the kept checkpoints are ordinary files."""
    import stat

    from tests._tiny_llama import write_corpora, write_tiny_model
    from vocabx.outputs import file_mode
    from vocabx.train import CPTConfig, train_cpt

    model, corpora = write_tiny_model(tmp_path / "m"), write_corpora(tmp_path / "corpora")
    out = tmp_path / "out"
    capfd.readouterr()  # writing the fixture model drew transformers' bar
    train_cpt(CPTConfig(model=str(model), data=(str(corpora["domain"]),), out=str(out), block_size=16, batch_size=4,
                        embed_steps=1, max_steps=2, save_steps=1, log_steps=1, keep_checkpoints=True), progress=True)
    err = capfd.readouterr().err
    for line in (f"loading model {model}:", "reading and tokenizing --data:", "embed stage", "lora stage", "loss ",
                 f"writing the final model into {out}:"):
        assert line in err, line
    assert "Writing model shards" not in err and "Loading weights" not in err
    kept = [p for p in (out / "checkpoints").rglob("*") if p.is_file()]
    assert kept and {stat.S_IMODE(p.stat().st_mode) for p in kept} == {file_mode()}
