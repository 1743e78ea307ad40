"""The vocabulary plan (`units`, `learn`, `plan`) on tiny real tokenizers: the projection equals the real extended
tokenizer's count exactly, term shape holds, a template that one part of the documents repeats is never chosen,
and `vocabx extend --terms ANALYSIS_DIR` applies the plan as it is."""

from __future__ import annotations

import json

import numpy as np
import pytest
import regex

from tests._builders import MED
from vocabx.analyze.learn import learn_plan
from vocabx.analyze.plan import fingerprint, read_plan, render_plan
from vocabx.analyze.units import build_units
from vocabx.extend.registry import get_extender

DOCS = [*MED, "糖尿病患者的饮食要注意，高血压的犯罪分子", "the patient has high blood pressure", "高血压患者\n糖尿病"] * 3


def _exact(adapter, docs, shape: bool, scoring: str) -> None:
    units = build_units(adapter, docs, shape)
    assert sum(units.base_tokens) == adapter.count_tokens(docs)
    plan = learn_plan(units, 200, scoring, min_score=1)
    assert plan.entries
    extender = get_extender(adapter.family)
    for k in sorted({1, 5, len(plan.entries) // 2, len(plan.entries)}):
        extension = extender.extend_plan(adapter, plan, k)
        assert len(extension.added) == k
        assert extension.extended.count_tokens(docs) == plan.tokens_after(k), k


@pytest.mark.parametrize("name", ["tiny_bpe", "tiny_sp", "plain_sp"])
@pytest.mark.parametrize(("shape", "scoring"), [(True, "both-parts"), (False, "tokens"), (True, "min")])
def test_projection_equals_the_extended_tokenizer(name, shape, scoring, request):
    """Tokens after any prefix of the plan, as the learner counted them, are the real extended tokenizer's."""
    _exact(request.getfixturevalue(name), DOCS, shape, scoring)


def test_projection_is_exact_when_merges_recreate_learned_pairs(tiny_bpe):
    """Repeats (`哈哈哈哈`, `abab`) make pairs that a later merge recreates: the tokenizer merges them at once."""
    docs = ["哈哈哈哈哈哈哈", "哈哈哈", "abababab ab", "高血高血高血压压"] * 4
    _exact(tiny_bpe, docs, False, "tokens")


@pytest.mark.parametrize("name", ["tiny_sp", "tiny_bpe"])
def test_term_shape_keeps_punctuation_out_and_function_characters_on_their_side(name, request):
    """No entry spans punctuation; a function character joins only the side it leans on: 的 the word before it
    (`高血压的`, never `的犯罪`), 在 what follows (`在医院`, never `治疗在`), 我 neither."""
    adapter = request.getfixturevalue(name)
    docs = [*DOCS, "治疗在医院，我想我想去医院", "治疗在医院进行"] * 3
    texts = [e.text.strip(" ") for e in learn_plan(build_units(adapter, docs, True), 500, "tokens", min_score=1).entries]
    words = [t for t in texts if len(t) > 1 and "\ufffd" not in t]  # byte-level pieces of a character aside
    assert words and not any(regex.search(r"[\p{P}\s]", t) for t in words)
    assert not any(t.startswith("的") or t.endswith("在") or "我" in t for t in words)
    assert any(t.endswith("的") for t in words) and any(t.startswith("在") for t in words)
    unshaped = [e.text for e in learn_plan(build_units(adapter, docs, False), 500, "tokens", min_score=1).entries]
    assert any(regex.search(r"\p{P}", t) for t in unshaped if len(t) > 1) or any("的犯" in t for t in unshaped)


def test_a_template_one_part_repeats_is_not_picked(tiny_bpe):
    """A signature every even document carries (part A only) wins plain BPE counts but never out of sample."""
    template = "祝您早日康复欢迎再次咨询"
    docs = [f"{t}{template}" if i % 2 == 0 else t for i, t in enumerate(MED * 4)]
    units = build_units(tiny_bpe, docs, True)
    chosen = {e.text for e in learn_plan(units, 300, "both-parts", min_score=1).entries}
    plain = {e.text for e in learn_plan(units, 300, "tokens", min_score=1).entries}
    pieces = {template[i:j] for i in range(len(template)) for j in range(i + 2, len(template) + 1)}
    assert pieces & plain and not pieces & chosen
    assert any(len(t) >= 3 and t in "".join(MED) for t in chosen)  # what both parts use is still learned


def test_plan_file_round_trip_and_fingerprint(tiny_bpe, tiny_sp, tmp_path):
    units = build_units(tiny_bpe, DOCS, True)
    plan = learn_plan(units, 50, "both-parts", min_score=1)
    plan.fingerprint = fingerprint(tiny_bpe)
    path = tmp_path / "plan.tsv"
    path.write_text(render_plan(plan), encoding="utf-8")
    back = read_plan(path)
    assert back == plan and fingerprint(tiny_sp) != plan.fingerprint


def test_extend_applies_the_plan_of_an_analysis(tiny_bpe, tmp_path):
    """`vocabx analyze` then `vocabx extend --terms DIR`: the extension holds the plan's first entries, and the
    mined corpus has exactly the projected number of tokens."""
    from vocabx.analyze import AnalyzeConfig, analyze
    from vocabx.extend.api import ExtendConfig, extend

    tok = tmp_path / "tok"
    tok.mkdir()
    (tok / "tokenizer.json").write_text(tiny_bpe.json_text, encoding="utf-8")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in DOCS * 4), encoding="utf-8")
    out = tmp_path / "analysis"
    result = analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=str(tok), out=str(out), min_freq=2, workers=1,
                                   budgets=(5, 20)))
    point = result.report["projection"][-1]
    ext = extend(ExtendConfig(base=str(tok), terms=str(out), budget=point["entries"], out=str(tmp_path / "ext")))
    assert ext.counts["added"] == point["entries"]
    from vocabx.adapters import load_tokenizer

    extended = load_tokenizer(str(tmp_path / "ext"))
    assert extended.count_tokens(DOCS * 4) == point["tokens"]
    rows = (out / "terms.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    assert header[:3] == ["term", "saved_rank", "termhood_rank"]
    ranks = [r.split("\t")[1] for r in rows[1:]]
    saved = [int(r) for r in ranks if r]
    assert saved == list(range(1, len(saved) + 1)) and all(not r for r in ranks[len(saved):])
    assert np.isfinite(point["chars_per_token"])


@pytest.mark.parametrize("name", ["tiny_bpe", "tiny_sp"])
def test_text_without_han_characters(name, request, tmp_path):
    """English (or any script): the plan learns from the tokenizer's own units, and the projection stays exact."""
    from vocabx.analyze import AnalyzeConfig, analyze

    adapter = request.getfixturevalue(name)
    docs = ["The patient has high blood pressure and a headache.", "High blood pressure needs treatment, doctor."] * 6
    _exact(adapter, docs, True, "both-parts")
    corpus = tmp_path / "en.txt"
    corpus.write_text("\n".join(docs) + "\n", encoding="utf-8")
    model = tmp_path / "tok"
    model.mkdir()
    if name == "tiny_bpe":
        (model / "tokenizer.json").write_text(adapter.json_text, encoding="utf-8")
    else:
        (model / "tokenizer.model").write_bytes(adapter.model_bytes)
        model = model / "tokenizer.model"
    result = analyze(AnalyzeConfig(corpus=(str(corpus),), tokenizer=str(model), out=str(tmp_path / "a"), min_freq=2,
                                   workers=1, budgets=(10,)))
    assert result.report["lang"] == "other" and result.report["projection"][0]["tokens"] < result.report["tokens"]
