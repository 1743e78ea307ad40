"""The byte-level BPE extender: exact merges and ids on a tiny in-process BPE, the replay of the Rust merge loop,
invariants as property tests, corpus-driven training, and the real SmolLM2 with Chinese medical terms."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._builders import BASE_CORPUS, base_bpe
from tests.conftest_shared import SHARED
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.extend.bpe_state import BPEState, token_text
from vocabx.extend.bytelevel import ByteLevelBPEExtender, running_form


@pytest.fixture(scope="module")
def tiny() -> HFTokenizerAdapter:
    return base_bpe()


def _extend(base: HFTokenizerAdapter, terms: list[str], budget: int = 100):
    return ByteLevelBPEExtender().extend(base, terms, budget)


# -- one result small enough to check by hand ------------------------------------------------------------------


def test_term_gets_exact_merges_and_ids(tiny: HFTokenizerAdapter) -> None:
    # `qzx` never occurs in the training text. Inside running text it is the pre-token ` qzx`, which the base
    # spells as four byte symbols Ġ q z x; pairs tie, so the chain grows from the left.
    assert [tiny.id_to_token(i) for i in tiny.encode(" qzx")] == ["Ġ", "q", "z", "x"]
    n_merges = len(tiny.spec["model"]["merges"])
    first = tiny.vocab_size  # 300 trained entries, then the special <|end|> at 300: new ids start at 301
    assert first == 301 and tiny.token_to_id("<|end|>") == 300
    ext = _extend(tiny, ["qzx"])
    assert [(e.token, e.id, e.kind) for e in ext.added] == [
        ("Ġq", 301, "intermediate"), ("Ġqz", 302, "intermediate"), ("Ġqzx", 303, "term"),
    ]
    merges = json.loads(ext.extended.json_text)["model"]["merges"]
    assert len(merges) == n_merges + 3 and merges[-3:] == [["Ġ", "q"], ["Ġq", "z"], ["Ġqz", "x"]]
    assert ext.extended.encode("a qzx") == [*tiny.encode("a"), 303]
    assert ext.extended.encode("qzx") == tiny.encode("qzx")  # no space before it: untouched
    assert ext.extended.encode("<|end|>") == [300]  # the special keeps its id


def test_chinese_character_needs_intermediates(tiny: HFTokenizerAdapter) -> None:
    # 龘 is three UTF-8 bytes the tiny BPE never merged: two merges, one intermediate, one whole character.
    assert len(tiny.encode("龘")) == 3
    ext = _extend(tiny, ["龘"])
    assert [e.kind for e in ext.added] == ["intermediate", "term"]
    assert ext.added[-1].text == "龘" and ext.extended.encode("龘") == [ext.added[-1].id]
    assert token_text(ext.added[0].token) == "\ufffd"  # an unfinished character


def test_shared_intermediates_cost_once(tiny: HFTokenizerAdapter) -> None:
    ext = _extend(tiny, ["qzxw", "qzx"])
    # qzxw builds ` q`, ` qz`, ` qzx`, ` qzxw`; qzx is then already reached: it becomes a term at no cost.
    assert [(e.text, e.kind) for e in ext.added] == [
        (" q", "intermediate"), (" qz", "intermediate"), (" qzx", "term"), (" qzxw", "term"),
    ]


def test_budget_counts_intermediates_and_rolls_back(tiny: HFTokenizerAdapter) -> None:
    ext = _extend(tiny, ["qzxw", "qz"], budget=2)  # qzxw needs 4 entries: rolled back whole, then qz fits in 2
    assert [e.text for e in ext.added] == [" q", " qz"]
    assert ext.skipped == {"over_budget": ["qzxw"]}
    assert ext.extended.encode(" qzxw") == [ext.added[1].id, *tiny.encode("xw")]


def test_skips_boundary_and_present(tiny: HFTokenizerAdapter) -> None:
    ext = _extend(tiny, ["foo.bar", "the", "<|end|>", "qz"])
    assert ext.skipped["crosses_pretoken_boundary"] == ["foo.bar"]
    assert ext.skipped["already_present"] == ["the", "<|end|>"]  # ` the` is one token; the special is reserved
    assert [e.text for e in ext.added] == [" q", " qz"]


def test_latin_terms_get_their_running_form(tiny: HFTokenizerAdapter) -> None:
    assert running_form("qzx") == " qzx" and running_form("高血压") == "高血压"
    ext = _extend(tiny, ["Qzxv"])
    term = next(e for e in ext.added if e.kind == "term")
    assert term.token.startswith("Ġ") and ext.extended.encode("a Qzxv") == [*tiny.encode("a"), term.id]


def test_budget_note_when_larger_than_needed(tiny: HFTokenizerAdapter) -> None:
    ext = _extend(tiny, ["qz"], budget=50)
    assert any("more than all valid terms need" in n for n in ext.notes)


def test_ignore_merges_model() -> None:
    base = base_bpe(ignore_merges=True)
    ext = _extend(base, ["高血压病", "qzx"])
    for e in ext.added:
        if e.kind == "term":
            assert ext.extended.encode(e.text) == [e.id]


# -- the replay of the Rust merge loop and the invariants -------------------------------------------------------

TERMS = ["高血压", "血压", "糖尿病", "qzx", "hello", "wor", "🩺听诊", "ldw", "ello"]
texts = st.text(alphabet=st.sampled_from(list("高血压糖尿病患者qzxhelowrd ,.🩺听诊\n")) | st.characters(blacklist_categories=("Cs",)), max_size=60)


@pytest.fixture(scope="module")
def extended(tiny: HFTokenizerAdapter):
    return _extend(tiny, TERMS)


@pytest.fixture(scope="module")
def trained(tiny: HFTokenizerAdapter):
    domain = ["高血压患者控制血压，糖尿病患者控制血糖。", "hello world, the doctor says hello"] * 30
    return ByteLevelBPEExtender(mode="train").extend(tiny, [], 40, domain)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_invariants_on_random_text(tiny: HFTokenizerAdapter, extended, trained, text: str) -> None:
    for ext in (extended.extended, trained.extended):
        _check_invariants(tiny, ext, text)


def _check_invariants(tiny: HFTokenizerAdapter, ext: HFTokenizerAdapter, text: str) -> None:
    ids = ext.encode(text)
    assert ext.decode(ids) == text  # lossless
    assert len(ids) <= len(tiny.encode(text))  # never longer
    assert all(ext.id_to_token(i) == tiny.id_to_token(i) for i in tiny.encode(text))  # old ids keep their strings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_replay_matches_rust(tiny: HFTokenizerAdapter, extended, text: str) -> None:
    state = BPEState(extended.extended)  # every merge of the extended model, old and new
    rust = extended.extended.tokenizer.model
    for word, _ in tiny.pretokenize(text):
        expected = [t.id for t in rust.tokenize(word)]
        assert state.merge_all([state.vocab[ch] for ch in word]) == expected  # from raw bytes
        base_ids = [t.id for t in tiny.tokenizer.model.tokenize(word)]
        assert state.encode_word(base_ids, word) == expected  # from the base tokenization


def test_old_ids_unchanged_and_new_ids_follow(tiny: HFTokenizerAdapter, extended) -> None:
    old = tiny.tokenizer.get_vocab(with_added_tokens=True)
    new = extended.extended.tokenizer.get_vocab(with_added_tokens=True)
    assert all(new[t] == i for t, i in old.items())
    assert sorted(set(new.values()) - set(old.values())) == list(range(max(old.values()) + 1, max(new.values()) + 1))


# -- corpus-driven training ---------------------------------------------------------------------------------------


def test_train_mode_learns_domain_merges_deterministically(tiny: HFTokenizerAdapter) -> None:
    domain = ["高血压患者控制血压，糖尿病患者控制血糖。", "高血压和糖尿病是慢性病。"] * 30
    first = ByteLevelBPEExtender(mode="train").extend(tiny, [], 20, domain)
    second = ByteLevelBPEExtender(mode="train").extend(tiny, [], 20, domain)
    assert first.extended.json_text == second.extended.json_text
    assert 0 < len(first.added) <= 20
    before, after = tiny.count_tokens(domain), first.extended.count_tokens(domain)
    assert after < before
    for text in domain[:2] + BASE_CORPUS[:4]:
        assert first.extended.decode(first.extended.encode(text)) == text
        assert len(first.extended.encode(text)) <= len(tiny.encode(text))


# -- the real SmolLM2 tokenizer with Chinese medical terms ---------------------------------------------------------


def _medical_terms(n: int) -> list[str]:
    from vocabx.analyze.jiebacut import jieba_model

    path = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path}")
    with path.open(encoding="utf-8") as fh:
        rows = [r for i, r in enumerate(csv.DictReader(fh)) if i % 10 and i < 1500]  # never the held-out rows
    counts = Counter(w for r in rows for w in jieba_model().cut(r["ask"] + r["answer"]) if len(w) >= 2)
    return [w for w, _ in counts.most_common(n)]


@pytest.mark.slow
def test_smollm2_with_chinese_medical_terms() -> None:
    from vocabx.adapters import load_tokenizer

    try:
        base = load_tokenizer("smollm2")
    except Exception as exc:  # noqa: BLE001 - the package carrying the GGUF is optional
        pytest.skip(f"smollm2 not available: {exc}")
    terms = _medical_terms(300)
    ext = ByteLevelBPEExtender().extend(base, terms, 600)
    assert len(ext.added) <= 600 and ext.counts["added_terms"] > 100
    for e in ext.added:
        if e.kind == "term":
            assert ext.extended.encode(e.text) == [e.id], e.text
    sample = "患者男，45岁，高血压病史十年，近期头晕、乏力，建议复查血压和血糖。"
    assert len(ext.extended.encode(sample)) < len(base.encode(sample))
    assert ext.extended.decode(ext.extended.encode(sample)) == sample


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qwen2", "deepseek-v3", "gpt-2"])
def test_real_tokenizers_keep_special_ids(name: str) -> None:
    """Qwen's and DeepSeek's specials sit above (or between) the merge ids; after extension they keep their ids when
    the saved JSON is loaded again, and every added term is one token."""
    from tokenizers import Tokenizer

    from vocabx.adapters import load_tokenizer

    spec = str(SHARED / "tokenizers" / "gguf" / "ggml-vocab-gpt-2.gguf") if name == "gpt-2" else name
    try:
        base = load_tokenizer(spec)
    except Exception as exc:  # noqa: BLE001 - optional packages, shared data
        pytest.skip(f"{name} not available: {exc}")
    ext = ByteLevelBPEExtender().extend(base, [*_medical_terms(60), "qzxv", "Pneumothoraxitis"], 150)
    reloaded = Tokenizer.from_str(ext.extended.json_text)
    old = base.tokenizer.get_vocab(with_added_tokens=True)
    new = reloaded.get_vocab(with_added_tokens=True)
    assert all(new[t] == i for t, i in old.items())
    assert min(e.id for e in ext.added) == max(old.values()) + 1
    for e in ext.added:
        if e.kind == "term":
            assert reloaded.encode(e.text, add_special_tokens=False).ids == [e.id], e.text
