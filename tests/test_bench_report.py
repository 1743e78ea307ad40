"""Bench reports: bench.json round trip, merged eval columns, Markdown and terminal tables, PNG charts."""

from __future__ import annotations

import json

import pytest

from tests._builders import bytelevel
from vocabx.bench import BenchResult, CorpusSample, bench_samples, merge_eval, render_markdown, render_table
from vocabx.bench.charts import write_charts
from vocabx.errors import UsageError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def result() -> BenchResult:
    tokenizers = [("bytes", bytelevel("bytes", [])), ("ab", bytelevel("ab", [("a", "b")]))]
    samples = [CorpusSample.from_texts("one", "one.txt", ["ababababab"]), CorpusSample.from_texts("two", "two.txt", ["ab ab"])]
    return bench_samples(tokenizers, samples, repeats=0, context=100)


def test_json_round_trip(result: BenchResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    again = BenchResult.from_dict(data)
    assert again.to_dict() == result.to_dict()
    assert data["format"] == "vocabx-bench v1" and data["rows"][1]["chars_per_token"] == 2.0
    with pytest.raises(UsageError, match="not a bench.json"):
        BenchResult.from_dict({"format": "other"})


def test_merge_eval_adds_columns(result: BenchResult, tmp_path) -> None:
    path = tmp_path / "eval.json"
    records = [
        {"model": "ab", "corpus": "one", "bits_per_char": 1.25, "decode_tok_s": 40.0, "curve": [1, 2]},
        {"tokenizer": "ghost", "corpus": "one", "bits_per_char": 9.0},
    ]
    path.write_text(json.dumps({"rows": records}), encoding="utf-8")
    counts = merge_eval(result, path)
    assert counts == {"merged": 1, "unmatched": 1}
    assert result.row("ab", "one").extra == {"bits_per_char": 1.25, "decode_tok_s": 40.0}  # lists are left out
    assert result.extra_columns == ["bits_per_char", "decode_tok_s"]
    table = render_table(result)
    assert "bits/char" in table and "1.25" in table  # shown under its short header
    assert "More columns in --json and bench.md (--out):" in table and "decode_tok_s" in table  # named, not shown
    with pytest.raises(UsageError, match="no eval record matches"):
        merge_eval(result, [{"tokenizer": "ghost", "corpus": "one", "x": 1}])
    with pytest.raises(UsageError, match="list of records"):
        merge_eval(result, {"something": 1})


def test_tables(result: BenchResult) -> None:
    md = render_markdown(result, command="vocabx bench bytes ab --corpus one.txt")
    assert "vocabx bench bytes ab --corpus one.txt" in md
    assert md.count("| tokenizer | family |") == 2  # one table per corpus
    assert "| ab | bytelevel-bpe | 257 | 5 | 2.000 |" in md
    assert "2.00x" in md and "NSL vs bytes" in md and "chars/100-tok window" in md
    table = render_table(result).splitlines()
    assert table[0].startswith("one: 1 docs, 10 chars") and "tokenizer" in table[1]
    assert any(line.startswith("NSL: tokens / bytes's") for line in table)
    assert "Families: bytes bytelevel-bpe, ab bytelevel-bpe." in table


def test_the_terminal_table_fits_a_terminal_with_eval_columns_merged(result: BenchResult) -> None:
    """bench.md keeps every column (175 characters and more once eval's are merged); the terminal about 105."""
    names = ("role", "bits_per_char", "eval_chars_per_token", "eval_tokens", "eval_chars", "eval_docs",
             "eval_context_gain", "decode_chars_per_s", "decode_tokens_per_s", "new_token_share")
    merge_eval(result, [{"tokenizer": "ab", "corpus": "one", **{n: 123456.5 for n in names}, "role": "domain"}])
    table = render_table(result)
    assert max(len(line) for line in table.splitlines()) <= 110
    header = table.splitlines()[1]
    assert header.split() == ["tokenizer", "vocab", "tokens", "chars/tok", "tok/word", "NSL", "context", "gain",
                              "MB/s", "batch", "round", "trip", "bits/char"]
    md = render_markdown(result)
    assert all(f"| {n} |" in md or f" {n} |" in md for n in names) and "| family |" in md


def test_charts_are_pngs(result: BenchResult, tmp_path) -> None:
    names = write_charts(result, tmp_path)
    assert names == ["chars_per_token.png", "context_gain.png"]
    for name in names:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 2000
