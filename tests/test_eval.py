"""`vocabx eval` end to end on tiny real artifacts: a 2-layer Llama with an extended BPE tokenizer, a "trained"
copy whose new rows moved (some of them), its training log, and the un-extended base model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from tests._tiny_llama import NEW_TERMS, write_corpora, write_tiny_model
from vocabx.errors import CorpusError, ModelError, OutputError, UsageError
from vocabx.eval.api import evaluate
from vocabx.eval.config import EvalConfig

MOVED = 3  # the first MOVED new rows of the "trained" model are moved away from their initialization
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_trained(ext: Path, out: Path) -> Path:
    """A stand-in for a `vocabx train cpt` output: ext's weights with some new rows moved, a manifest and a log."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = json.loads((ext / "manifest.json").read_text())["counts"]["base_vocab_size"]
    model = AutoModelForCausalLM.from_pretrained(ext)
    with torch.no_grad():
        torch.manual_seed(1)
        rows = model.get_input_embeddings().weight
        rows[start : start + MOVED] += 0.5 * torch.randn(MOVED, rows.shape[1])
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(ext).save_pretrained(out)
    (out / "manifest.json").write_text(json.dumps({"command": "train cpt", "config": {"model": str(ext)}}))
    log = [{"step": s, "stage": "embeddings" if s <= 20 else "lora", "loss": 5.0 - s / 20} for s in range(10, 70, 10)]
    log += [{"step": 30, "eval_bpc": 3.1}, {"step": 60, "eval_bpc": 2.8}]
    (out / "log.jsonl").write_text("\n".join(json.dumps(r) for r in log) + "\n")
    return out


@pytest.fixture(scope="module")
def eval_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval")
    ext = write_tiny_model(root / "ext")
    dirs = {"ext": ext, "base": write_tiny_model(root / "base", extended=False),
            "cpt": write_trained(ext, root / "cpt"), "root": root}
    dirs.update(write_corpora(root / "corpora"))
    return dirs


def config(d: dict[str, Path], **kw) -> EvalConfig:
    values = {"model": str(d["cpt"]), "domain": (f"med={d['domain']}",), "general": (str(d["general"]),),
              "base": str(d["base"]), "decode_tokens": 6, "decode_prompts": 2, "max_docs": 40, "max_chars": 3000}
    values.update(kw)
    return EvalConfig(**values)


@pytest.fixture(scope="module")
def run(eval_dirs):
    out = eval_dirs["root"] / "out"
    return evaluate(config(eval_dirs, out=str(out))), out


def test_rows_cover_both_models_on_both_corpora(run):
    result, _ = run
    assert {(r["tokenizer"], r["corpus"], r["role"]) for r in result.rows} == {
        ("model", "med", "domain"), ("model", "general", "general"), ("base", "med", "domain"), ("base", "general", "general")}
    for r in result.rows:
        assert 0 < r["bits_per_char"] < 20 and r["eval_chars"] > 0
        assert r["chars_per_window"] == pytest.approx(128 * r["eval_chars_per_token"])
        assert all(isinstance(v, (int, float, str, type(None))) for v in r.values())  # what bench can merge


def test_context_gain_is_the_ratio_and_one_where_nothing_changed(run):
    result, _ = run
    for corpus in ("med", "general"):
        model, base = result.row("model", corpus), result.row("base", corpus)
        assert model["eval_context_gain"] == pytest.approx(model["eval_chars_per_token"] / base["eval_chars_per_token"])
        assert result.context_gain[corpus]["gain"] == model["eval_context_gain"]
    # No new term occurs in the general text: same tokens, gain exactly 1. (In the domain text the fixture's
    # *added* tokens cut BPE merges that crossed them, so it may even lose there: eval reports what it measures.)
    assert result.row("model", "general")["eval_tokens"] == result.row("base", "general")["eval_tokens"]
    assert result.row("model", "general")["eval_context_gain"] == 1.0
    assert result.row("model", "med")["eval_tokens"] != result.row("base", "med")["eval_tokens"]


def test_decoding_speed_generates_exactly_n_tokens_per_prompt(run):
    result, _ = run
    for label in ("model", "base"):
        d = result.decode[label]
        assert d["new_tokens"] == 2 * 6 and d["seconds"] > 0
        assert d["chars_per_s"] == pytest.approx(d["chars"] / d["seconds"], rel=1e-3)
    share = result.usage["new_token_share"]
    assert 0 <= share <= 1 and result.row("model", "med")["new_token_share"] == share


def test_under_trained_rows_are_the_unmoved_ones(run, eval_dirs):
    usage = run[0].usage
    assert usage["new_tokens"] == len(NEW_TERMS) and usage["init_reference"] == str(eval_dirs["ext"])
    rows = {r["text"]: r for r in run[0].new_rows}
    moved, unmoved = NEW_TERMS[:MOVED], NEW_TERMS[MOVED:]
    assert all(rows[t]["drift"] > 0.1 and "unchanged" not in rows[t]["flags"] for t in moved)
    assert all(rows[t]["drift"] == 0 and "unchanged" in rows[t]["flags"] for t in unmoved)
    assert {u["text"] for u in usage["under_trained"]} >= set(unmoved)
    assert sum(rows[t]["occurrences"] for t in NEW_TERMS) == usage["domain_new_token_occurrences"] > 0


def test_output_directory(run):
    _, out = run
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bpc.png", "curves.png", "eval.json", "manifest.json", "new_tokens.tsv"]
    for png in ("bpc.png", "curves.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC
    data = json.loads((out / "eval.json").read_text())
    assert data["format"] == "vocabx-eval v1" and data["curves"]["eval_bpc"] == [[30, 3.1], [60, 2.8]]
    assert len((out / "new_tokens.tsv").read_text().splitlines()) == 1 + len(NEW_TERMS)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "eval" and manifest["counts"]["new_tokens"] == len(NEW_TERMS)


def test_eval_json_merges_into_bench(run, eval_dirs):
    from vocabx.bench import BenchConfig, bench

    result = bench(BenchConfig(tokenizers=(f"model={eval_dirs['cpt']}", f"base={eval_dirs['base']}"),
                               corpora=(f"med={eval_dirs['domain']}", f"general={eval_dirs['general']}"),
                               repeats=0, charts=False, eval=str(run[1] / "eval.json"), max_chars=3000))
    assert result.row("model", "med").extra["bits_per_char"] == run[0].row("model", "med")["bits_per_char"]
    assert "decode_chars_per_s" in result.extra_columns


def test_tokenizer_only_base_and_no_decoding(eval_dirs):
    tok = eval_dirs["base"] / "tokenizer.json"
    result = evaluate(config(eval_dirs, base=str(tok), general=(), decode_tokens=0))
    base = result.row("base", "med")
    assert base["bits_per_char"] is None and base["eval_tokens"] > 0
    assert result.decode == {} and result.usage["generated_tokens"] == 0


def test_inputs_are_left_unchanged(eval_dirs, tmp_path):
    before = {p: p.read_bytes() for p in eval_dirs["cpt"].rglob("*") if p.is_file()}
    evaluate(config(eval_dirs, base=None, general=(), decode_tokens=0, out=str(tmp_path / "o")))
    assert {p: p.read_bytes() for p in eval_dirs["cpt"].rglob("*") if p.is_file()} == before


def test_bad_inputs_fail_with_hints_and_write_nothing(eval_dirs, tmp_path):
    out = tmp_path / "never"
    noweights = tmp_path / "noweights"
    shutil.copytree(eval_dirs["ext"], noweights)
    (noweights / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="no model weights") as err:
        evaluate(config(eval_dirs, model=str(noweights), base=None, out=str(out)))
    assert "vocabx extend" in err.value.hint
    (noweights / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="cannot load"):
        evaluate(config(eval_dirs, model=str(noweights), base=None, out=str(out)))
    small = write_tiny_model(tmp_path / "small", vocab_rows=300)
    with pytest.raises(ModelError, match="300 rows") as err:
        evaluate(config(eval_dirs, model=str(small), base=None, out=str(out)))
    assert "grow the embeddings" in err.value.hint
    with pytest.raises(CorpusError, match="no text"):
        evaluate(config(eval_dirs, domain=(str(eval_dirs["empty"]),), base=None, out=str(out)))
    assert not out.exists()
    out.mkdir()
    with pytest.raises(OutputError, match="already exists"):
        evaluate(config(eval_dirs, out=str(out)))
    with pytest.raises(UsageError, match="held-out"):
        EvalConfig(model="x")


def test_lora_adapter_directory_is_merged_before_measuring(eval_dirs, tmp_path):
    """A `vocabx train` LoRA output holds an adapter (new rows as peft trainable-token deltas), not a model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from vocabx.quiet import quiet_loading

    ext, adapter = eval_dirs["ext"], tmp_path / "adapter"
    start = json.loads((ext / "manifest.json").read_text())["counts"]["base_vocab_size"]
    lora = LoraConfig(r=2, target_modules=["q_proj"],
                      trainable_token_indices={"embed_tokens": list(range(start, start + len(NEW_TERMS)))})
    with quiet_loading():  # peft's own FutureWarning, as in vocabx.train.lora
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(ext), lora)
    delta = next(p for n, p in model.named_parameters() if "trainable_tokens_delta" in n)
    with torch.no_grad():
        delta[:MOVED] += 0.5  # the trained rows
    model.save_pretrained(adapter)
    AutoTokenizer.from_pretrained(ext).save_pretrained(adapter)
    (adapter / "manifest.json").write_text(json.dumps({"command": "train cpt", "config": {"model": str(ext)}}))
    result = evaluate(config(eval_dirs, model=str(adapter), base=None, general=(), decode_tokens=0))
    drifts = [r["drift"] for r in result.new_rows]
    assert all(d > 0.1 for d in drifts[:MOVED]) and drifts[MOVED:] == [0.0] * (len(NEW_TERMS) - MOVED)
