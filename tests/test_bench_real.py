"""Bench on the shared real assets: Llama-2's SentencePiece and Chinese BERT's WordPiece on Chinese news headlines."""

from __future__ import annotations

import pytest

from tests.conftest_shared import SHARED
from vocabx.bench import BenchConfig, bench

LLAMA = SHARED / "tokenizers" / "llama2" / "tokenizer.model"
BERT = SHARED / "tokenizers" / "bert-zh" / "vocab.txt"
TNEWS = SHARED / "corpora" / "general-zh" / "tnews_unlabeled.json"

pytestmark = pytest.mark.skipif(not (LLAMA.is_file() and BERT.is_file() and TNEWS.is_file()), reason=f"no shared data at {SHARED}")


def test_llama2_and_bert_on_chinese_headlines(tmp_path) -> None:
    config = BenchConfig(
        tokenizers=(f"llama2={LLAMA}", f"bert={BERT}"), corpora=(f"tnews={TNEWS}",), text_field="sentence",
        max_docs=300, repeats=1, out=str(tmp_path / "bench"),
    )
    result = bench(config)
    llama, bert = result.row("llama2", "tnews"), result.row("bert", "tnews")
    assert llama.documents == bert.documents == 300 and llama.chars == bert.chars
    assert result.corpora[0].han_share > 0.8
    # Llama-2 has ~700 Han characters as pieces and spells the rest in 3 UTF-8 byte tokens, so it spends more than
    # one token per character; BERT has one entry per common Han character, so close to one.
    assert llama.tokens_per_char > 1.2 and 0.6 < bert.tokens_per_char < 1.05
    assert bert.context_gain > 1.2 and bert.normalized_length < 0.85
    # Llama-2 (byte fallback) round-trips; BERT lowercases and drops spaces, so some headlines do not.
    assert llama.roundtrip_share == 1.0 and bert.roundtrip_share < 1.0
    assert llama.single_mb_s > 0 and (tmp_path / "bench" / "bench.md").is_file()
