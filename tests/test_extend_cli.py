"""`vocabx extend` and `vocabx verify` through click: outputs, manifest, determinism, and one-line errors with hints.

Runs that write OUT check it with transformers' AutoTokenizer, whose first import takes seconds: marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests._builders import base_bpe
from vocabx.cli import main

TEMPLATE = "{% for m in messages %}<|end|>{{ m['content'] }}{% endfor %}"
TERMS = "头孢克肟\n糖尿病\n头孢克肟\nqzx\n\nfoo bar\n"


def _base_dir(root: Path) -> Path:
    base = root / "base"
    base.mkdir()
    (base / "tokenizer.json").write_text(base_bpe().json_text, encoding="utf-8")
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|end|>", "chat_template": TEMPLATE}
    (base / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (root / "terms.txt").write_text(TERMS, encoding="utf-8")
    (root / "domain.txt").write_text("患者服用头孢克肟。\n糖尿病患者。\n" * 20, encoding="utf-8")
    return base


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def fs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _base_dir(tmp_path)
    return tmp_path


@pytest.mark.slow
def test_extend_writes_a_loadable_tokenizer_dir(fs: Path) -> None:
    result = _run("extend", "base", "--terms", "terms.txt", "--budget", "100", "--out", "out", "--corpus", "domain.txt")
    assert result.exit_code == 0, result.output
    # `foo bar` is a valid multi-word term, which no byte-level BPE token can cover (its pre-tokenizer splits there).
    assert "invalid 1" in result.output and "duplicate 1" in result.output and "[ok  ] never_longer" in result.output
    assert "crosses_pretoken_boundary 1" in result.output
    names = sorted(p.name for p in (fs / "out").iterdir())
    assert names == ["manifest.json", "new_entries.tsv", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    manifest = json.loads((fs / "out" / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    assert counts["added_terms"] == 3 and counts["skipped_invalid"] == 1 and counts["skipped_duplicate"] == 1
    assert counts["skipped_crosses_pretoken_boundary"] == 1
    assert counts["added"] == counts["added_terms"] + counts["added_intermediates"]
    assert all(check["passed"] is not False for check in manifest["guarantees"].values())
    assert "created" not in manifest  # deterministic manifest
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(fs / "out"))
    assert tok.chat_template == TEMPLATE and tok.eos_token == "<|end|>"  # carried over from the base directory
    assert json.loads((fs / "out" / "special_tokens_map.json").read_text())["eos_token"] == "<|end|>"


@pytest.mark.slow
def test_same_inputs_give_byte_identical_outputs(fs: Path) -> None:
    for out in ("out1", "out2"):
        assert _run("extend", "base", "--terms", "terms.txt", "--budget", "7", "--out", out).exit_code == 0
    for path in (fs / "out1").iterdir():
        assert path.read_bytes() == (fs / "out2" / path.name).read_bytes(), path.name


@pytest.mark.slow
def test_json_config_force_and_verify(fs: Path) -> None:
    (fs / "cfg.json").write_text(json.dumps({"budget": 5, "mode": "terms"}), encoding="utf-8")
    first = _run("extend", "base", "--terms", "terms.txt", "--out", "out", "--config", "cfg.json", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["counts"]["added"] <= 5 and data["counts"]["skipped_over_budget"] >= 1
    again = _run("extend", "base", "--terms", "terms.txt", "--budget", "3", "--out", "out")
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    assert _run("extend", "base", "--terms", "terms.txt", "--budget", "3", "--out", "out", "--force").exit_code == 0
    ok = _run("verify", "base", "out", "--corpus", "domain.txt")
    assert ok.exit_code == 0 and "all guarantees hold" in ok.output, ok.output
    # A tokenizer whose ids were renumbered is not an extension of the base: verify exits 1 and says which check.
    spec = json.loads((fs / "base" / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    vocab["the"], vocab["Ġthe"] = vocab["Ġthe"], vocab["the"]
    (fs / "bad").mkdir()
    (fs / "bad" / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    bad = _run("verify", "base", "bad")
    assert bad.exit_code == 1 and "[FAIL] ids_kept" in bad.output


@pytest.mark.slow
def test_train_mode_uses_the_corpus_recorded_by_analyze(fs: Path) -> None:
    analysis = fs / "analysis"
    analysis.mkdir()
    (analysis / "terms.tsv").write_text("term\tscore\n头孢克肟\t3.5\n", encoding="utf-8")
    corpus = str(fs / "domain.txt")
    (analysis / "manifest.json").write_text(json.dumps({"config": {"corpus": [corpus]}}), encoding="utf-8")
    result = _run("extend", "base", "--terms", "analysis", "--mode", "train", "--budget", "8", "--out", "out")
    assert result.exit_code == 0, result.output
    manifest = json.loads((fs / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert corpus in [i["spec"] for i in manifest["inputs"]]
    assert 0 < manifest["counts"]["added"] <= 8 and "continued BPE training" in manifest["notes"][0]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--budget", "0"], 2, "budget must be positive"),
        ([], 2, "no budget given"),
        (["--budget", "5", "--terms", "missing.txt"], 2, "does not exist"),
        (["--budget", "5", "--terms", "empty.txt"], 2, "holds no valid term"),
        (["--budget", "5", "--out", "base/inside"], 1, "inside the input"),
        (["--budget", "5", "--mode", "added-tokens", "--terms", "terms.txt", "--pad-to-multiple-of", "0"], 2, "positive"),
    ],
)
def test_bad_input_is_one_line_with_a_hint(fs: Path, args: list[str], code: int, needle: str) -> None:
    (fs / "empty.txt").write_text("\n \n\t\n", encoding="utf-8")
    full = ["extend", "base", "--terms", "terms.txt", "--out", "out", *args]
    # later flags win in click, so test-specific --terms/--out override the defaults above
    result = _run(*full)
    assert result.exit_code == code, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not (fs / "out").exists() and sorted(p.name for p in (fs / "base").iterdir()) == ["tokenizer.json", "tokenizer_config.json"]


def test_train_mode_is_refused_for_other_families(fs: Path) -> None:
    (fs / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n高\n血\n压\n##压\n", encoding="utf-8")
    result = _run("extend", "vocab.txt", "--mode", "train", "--corpus", "domain.txt", "--budget", "5", "--out", "out")
    assert result.exit_code == 2 and "train mode supports: bytelevel-bpe, sentencepiece-bpe" in result.output


def test_missing_out_is_a_usage_error(fs: Path) -> None:
    result = _run("extend", "base", "--terms", "terms.txt", "--budget", "5")
    assert result.exit_code == 2 and "--out" in result.output


def test_every_declared_extender_option_is_a_constructor_parameter() -> None:
    """The registry declares what each extender takes instead of reading signatures; this keeps the two in step."""
    import inspect

    from vocabx.errors import UsageError
    from vocabx.extend.registry import EXTENDERS, MODE_EXTENDERS, get_extender

    for entry in [*EXTENDERS.values(), *MODE_EXTENDERS.values()]:
        cls = entry.load()
        assert cls is not None and set(entry.options) <= set(inspect.signature(cls).parameters), entry.target
        assert not entry.modes or "mode" in entry.options, entry.target
    with pytest.raises(UsageError, match=r"AddedTokensExtender does not take the option\(s\) donor") as info:
        get_extender("wordpiece", "added-tokens", donor="x.model")
    assert info.value.hint == "it takes: no options"


def test_the_model_summary_is_three_readable_lines() -> None:
    """The model record of manifest.json (about 30 fields) as rows, initialization and checks; worked by hand."""
    from vocabx.cli.extend import _model_lines

    model = {"base_rows": 49152, "rows": 51152, "new_rows": {"count": 2000, "first_id": 49152}, "padding_rows_added": 0,
             "padding_rows_reused": 0, "dtype": "F32", "tied": True, "untied": False, "init_input": "subword-mean",
             "init_input_counts": {"subword_mean": 1998, "subword_single_piece": 0, "fallback_mean": 2},
             "init_output": "subword-mean", "init_output_counts": "tied to the input rows", "old_rows_checked": 49152,
             "logits_check": "passed", "logits_max_abs_diff": 0.0, "logits_probe_tokens": 17, "tokenizer_check": "passed",
             "shards": 1, "shards_rewritten": 1, "config_loads": True}
    assert _model_lines(model) == [
        "  model: embedding rows 49,152 -> 51,152 (2,000 new), F32, input and output tied",
        "  new rows: input subword-mean (subword mean 1,998, fallback mean 2); output tied to the input rows",
        "  model checks: old rows identical (49,152); old-vocabulary logits passed (max diff 0 on 17 tokens); "
        "tokenizer passed",
    ]
    assert _model_lines({}) == []
