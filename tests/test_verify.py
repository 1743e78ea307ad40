"""The guarantee checks on base/extended pairs: a correct extension passes; `add_tokens`, a renumbered vocabulary and
a lossy normalizer each fail the check they break."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import AddedToken, Tokenizer, normalizers

from tests._builders import base_bpe
from vocabx.adapters.hf import HFTokenizerAdapter
from vocabx.extend.bytelevel import ByteLevelBPEExtender
from vocabx.extend.probes import random_unicode
from vocabx.extend.verify import (
    VerifyInputs,
    check_fast_slow,
    check_ids,
    check_lossless,
    check_never_longer,
    check_reachable,
    verify,
)

DOMAIN = ["患者服用头孢克肟，有糖尿病。", "the patient says hello to the world"] * 5


@pytest.fixture(scope="module")
def base() -> HFTokenizerAdapter:
    return base_bpe()


@pytest.fixture(scope="module")
def extension(base: HFTokenizerAdapter):
    return ByteLevelBPEExtender().extend(base, ["头孢克肟", "糖尿病", "qzx"], 50)


def _variant(base: HFTokenizerAdapter, edit) -> HFTokenizerAdapter:
    tok = Tokenizer.from_str(base.json_text)
    edit(tok)
    return HFTokenizerAdapter(tok.to_str(), "variant", "memory")


def test_correct_extension_passes(base: HFTokenizerAdapter, extension) -> None:
    terms = {e.id: e.text for e in extension.added if e.kind == "term"}
    report = verify(base, extension.extended, VerifyInputs(domain=DOMAIN, general={"en": DOMAIN[1:2]}, terms=terms))
    assert report.ok, report.as_dict()
    assert report.get("ids_kept").figures["new"] == len(extension.added)
    assert report.get("reachable").figures["produced_in_domain"] == 2  # 头孢克肟 and 糖尿病 occur; qzx does not
    assert report.get("fast_slow_agree").passed is None  # no directory to load: not applicable


def test_add_tokens_breaks_never_longer(base: HFTokenizerAdapter) -> None:
    # The complaint: an added token fires inside other words (`ello` in `hello`) and splits them.
    assert len(base.encode("hello")) == 1
    added = _variant(base, lambda t: t.add_tokens([AddedToken("ello", normalized=False)]))
    check = check_never_longer(base, added, {"general": ["hello world", "a b"]})
    assert check.passed is False and check.figures["general"]["docs_longer"] == 1
    assert check.figures["general"]["worst_doc"] == "hello world"


def test_renumbered_vocab_fails_ids(base: HFTokenizerAdapter) -> None:
    spec = json.loads(base.json_text)
    vocab = spec["model"]["vocab"]
    a, b = "the", "Ġthe"
    vocab[a], vocab[b] = vocab[b], vocab[a]
    swapped = HFTokenizerAdapter(json.dumps(spec, ensure_ascii=False), "swapped", "memory")
    check = check_ids(base, swapped)
    assert check.passed is False and check.figures["changed"] == 2


def test_lossy_normalizer_fails_lossless(base: HFTokenizerAdapter) -> None:
    lower = _variant(base, lambda t: setattr(t, "normalizer", normalizers.Lowercase()))
    check = check_lossless(base, lower, ["Hello", "hello", "患者"])
    assert check.passed is False and check.figures["failed"] == 1 and check.figures["texts"] == 3


def test_unreachable_term_is_reported(base: HFTokenizerAdapter, extension) -> None:
    entry = next(e for e in extension.added if e.kind == "intermediate" and "\ufffd" in e.text)
    check = check_reachable(extension.extended, {entry.id: entry.text}, [])
    assert check.passed is False and check.figures["unreachable"] == 1


@pytest.mark.slow  # imports transformers (about 5 s the first time)
def test_fast_slow_on_a_saved_directory(tmp_path: Path, base: HFTokenizerAdapter, extension) -> None:
    ByteLevelBPEExtender().save(extension, tmp_path)
    check = check_fast_slow(extension.extended, tmp_path, [*DOMAIN, *random_unicode(50)])
    assert check.passed is True, check.summary
    # A directory whose tokenizer.json is the base: transformers encodes differently than the extension does.
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "tokenizer.json").write_text(base.json_text, encoding="utf-8")
    assert check_fast_slow(extension.extended, base_dir, DOMAIN).passed is False


def test_random_unicode_is_seeded() -> None:
    assert random_unicode(5, seed=1) == random_unicode(5, seed=1) != random_unicode(5, seed=2)
