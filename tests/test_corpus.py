"""Tests for vocabx.corpus: every format, encoding and spec kind on tiny files built here, then the shared data."""

from __future__ import annotations

import csv
import json
import os
import tracemalloc
from pathlib import Path

import pytest

from vocabx.corpus import CorpusConfig, Document, iter_texts, list_cards, load_card, open_corpus
from vocabx.corpus.encoding import detect_encoding
from vocabx.corpus.hub import hub_source
from vocabx.corpus.jsonfiles import _array_items
from vocabx.corpus.textfiles import strip_pos_tags
from vocabx.errors import CorpusError, UsageError

SHARED = Path(os.environ.get("VOCABX_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared data not found at {SHARED} (set VOCABX_SHARED_DATA)"
)

TEXT = "第一段 first line\n第二行 second\n\n第三段：中文，English 123\n"


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def jsonl(path: Path, records: list[object]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


# As a command offering every reading option would declare them (hints name only the flags a command has).
ALL_FLAGS = (("text_field", "--text-field {}"), ("skip_bad_records", "--skip-bad-records"), ("encoding", "--encoding {}"))


def read(spec, **options) -> list[Document]:
    options.setdefault("flags", ALL_FLAGS)
    return list(open_corpus(spec, CorpusConfig(**options)))


def texts(spec, **options) -> list[str]:
    return [doc.text for doc in read(spec, **options)]


# --- plain text: split modes ---------------------------------------------------------------------------------


def test_split_modes_on_a_file_with_blank_lines(tmp_path):
    path = write(tmp_path / "a.txt", TEXT)
    assert texts(path, split="block") == ["第一段 first line\n第二行 second", "第三段：中文，English 123"]
    assert texts(path, split="auto") == texts(path, split="block")
    assert texts(path, split="line") == ["第一段 first line", "第二行 second", "第三段：中文，English 123"]
    assert texts(path, split="file") == [TEXT.strip("\n")]
    assert [d.source for d in read(path, split="block")] == [f"{path}:1", f"{path}:4"]


def test_auto_split_without_blank_lines_gives_lines_and_crlf_is_normalised(tmp_path):
    path = write(tmp_path / "notes.md", "one\r\ntwo\r\n   \r\nthree")
    assert texts(path, split="line") == ["one", "two", "three"]
    assert texts(write(tmp_path / "b.txt", "x\ny\nz\n")) == ["x", "y", "z"]


# --- encodings -----------------------------------------------------------------------------------------------

ENCODED = {
    "utf-8": TEXT.encode("utf-8"),
    "utf-8-bom": TEXT.encode("utf-8-sig"),
    "utf-16-le-bom": b"\xff\xfe" + TEXT.encode("utf-16-le"),
    "utf-16-be-bom": b"\xfe\xff" + TEXT.encode("utf-16-be"),
    "utf-16-le-no-bom": TEXT.encode("utf-16-le"),
    "utf-16-be-no-bom": TEXT.encode("utf-16-be"),
    "utf-32-bom": TEXT.encode("utf-32"),
    "gb18030": TEXT.encode("gb18030"),
    "gbk": TEXT.encode("gbk"),
}


@pytest.mark.parametrize("name", ENCODED)
def test_every_encoding_decodes_to_the_same_text(tmp_path, name):
    path = write(tmp_path / f"{name}.txt", ENCODED[name])
    assert texts(path, split="file") == [TEXT.strip("\n")]


def test_detect_encoding_prefers_utf8_then_gb18030():
    assert detect_encoding("中文 text".encode()) == "utf-8"
    assert detect_encoding("中文 text".encode("gb18030")) == "gb18030"
    assert detect_encoding("中文".encode()[:-1]) == "utf-8"  # a character cut by the sample's end is fine


def test_binary_file_is_a_corpus_error_naming_file_and_fix(tmp_path):
    path = write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20)
    with pytest.raises(CorpusError) as err:
        read(path)
    assert "image.txt" in err.value.message and "NUL" in err.value.message
    assert "--encoding" in err.value.hint and "remove the file" in err.value.hint


def test_undecodable_file_is_skipped_and_counted_with_skip_bad_records(tmp_path):
    write(tmp_path / "d" / "bad.txt", b"\x80\x80\x80 not text \xff\xff")
    write(tmp_path / "d" / "good.txt", "fine\n")
    with pytest.raises(CorpusError, match="bad.txt"):
        read(tmp_path / "d")
    corpus = open_corpus(tmp_path / "d", CorpusConfig(skip_bad_records=True))
    assert [d.text for d in corpus] == ["fine"]
    assert corpus.stats.skipped == {"undecodable_file": 1}


def test_forced_encoding(tmp_path):
    path = write(tmp_path / "latin.txt", "café\n", encoding="latin-1")
    with pytest.raises(CorpusError):
        read(path)
    assert texts(path, encoding="latin-1") == ["café"]
    gb = write(tmp_path / "gb.txt", "中文\n" * 10, encoding="gb18030")
    with pytest.raises(CorpusError, match="not valid utf-8"):
        read(gb, encoding="utf-8")
    with pytest.raises(UsageError, match="no-such-codec"):
        CorpusConfig(encoding="no-such-codec")


def test_truncated_final_character_is_dropped_and_counted(tmp_path):
    path = write(tmp_path / "cut.txt", "完整的一行\n被截断".encode("gb18030")[:-1])
    corpus = open_corpus(path)
    assert [d.text for d in corpus] == ["完整的一行", "被截"]
    assert corpus.stats.skipped == {"truncated_final_char": 1}


# --- JSON ----------------------------------------------------------------------------------------------------


def test_json_lines_default_fields(tmp_path):
    records = [
        {"text": "plain"},
        {"id": 1, "content": "from content"},
        {"instruction": "翻译", "input": "", "output": "translate"},
        {"conversations": [{"from": "human", "value": "问"}, {"from": "gpt", "value": "答"}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    ]
    paths = [jsonl(tmp_path / f"{i}.jsonl", [r]) for i, r in enumerate(records)]
    assert [texts(p) for p in paths] == [["plain"], ["from content"], ["翻译\ntranslate"], ["问\n答"], ["hi\nhello"]]
    assert read(paths[0])[0].source == f"{paths[0]}:1"


def test_text_field_holds_for_every_input_and_spec_hash_field_for_one(tmp_path):
    """A command's --text-field reads all its inputs; `SPEC#FIELD` gives one input its own (commas join here too)."""
    a = jsonl(tmp_path / "a.jsonl", [{"body": "A", "q": "x", "a": "y"}])
    b = jsonl(tmp_path / "b.jsonl", [{"body": "z", "q": "why?", "a": "because"}])
    assert texts([str(a), f"{b}#q,a"], text_field="body") == ["A", "why?\nbecause"]


def test_explicit_text_fields_are_joined_with_newlines(tmp_path):
    path = jsonl(tmp_path / "qa.jsonl", [{"q": "why?", "a": "because", "n": 3}])
    assert texts(path, text_field="q, a") == ["why?\nbecause"]
    assert texts(path, text_field="n") == ["3"]


def test_json_array_file_and_json_lines_in_a_json_file(tmp_path):
    array = write(tmp_path / "a.json", json.dumps([{"text": "one"}, {"text": "two"}], indent=2))
    assert [(d.text, d.source) for d in read(array)] == [("one", f"{array}[0]"), ("two", f"{array}[1]")]
    lines = jsonl(tmp_path / "l.json", [{"text": "x"}, {"text": "y"}])
    assert texts(lines) == ["x", "y"]


def test_json_array_parser_reassembles_values_split_across_chunks():
    chunks = iter(["  [1", '2, {"a"', ': "x"}, "s"', ", tru", "e ]"])
    assert list(_array_items(chunks, "t.json")) == [12, {"a": "x"}, "s", True]
    with pytest.raises(CorpusError, match="closing"):
        list(_array_items(iter(['[{"a": 1}, ']), "t.json"))
    with pytest.raises(CorpusError, match="expected ','"):
        list(_array_items(iter(["[1 2]"]), "t.json"))


def test_bad_json_line_names_file_line_and_option(tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{"text": broken\n\n{"text": "also ok"}\n')
    with pytest.raises(CorpusError) as err:
        read(path)
    assert f"{path}:2" in err.value.message and "--skip-bad-records" in err.value.hint
    corpus = open_corpus(path, CorpusConfig(skip_bad_records=True))
    assert [d.text for d in corpus] == ["ok", "also ok"]
    assert corpus.stats.skipped == {"malformed_json": 1}


def test_missing_text_field_lists_the_available_fields(tmp_path):
    path = jsonl(tmp_path / "news.jsonl", [{"sentence": "标题", "id": 7}, {"id": 8}])
    with pytest.raises(CorpusError) as err:
        read(path)
    assert "'sentence'" in err.value.message and "'id'" in err.value.message
    assert "--text-field sentence" in err.value.hint
    with pytest.raises(CorpusError, match="no field 'body'"):
        read(path, text_field="body")
    with pytest.raises(CorpusError, match=f"{path}:2"):  # the second record lacks it
        read(path, text_field="sentence")
    corpus = open_corpus(path, CorpusConfig(text_field="sentence", skip_bad_records=True))
    assert [d.text for d in corpus] == ["标题"] and corpus.stats.skipped == {"missing_field": 1}


# --- CSV, TSV, parquet ---------------------------------------------------------------------------------------


def test_csv_default_column_joined_columns_and_multiline_cells(tmp_path):
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerows([["id", "title", "text"], [1, "T1", "line one\nline two"], ["", "", ""], [2, "T2", "x"]])
    assert [(d.text, d.source) for d in read(path)] == [("line one\nline two", f"{path}:2"), ("x", f"{path}:5")]
    assert texts(path, text_field="title,text") == ["T1\nline one\nline two", "T2\nx"]
    with pytest.raises(CorpusError, match="'title'"):
        read(path, text_field="body")


def test_tsv_and_csv_without_a_text_column(tmp_path):
    tsv = write(tmp_path / "t.tsv", "content\tlabel\n你好\t1\n")
    assert texts(tsv) == ["你好"]
    path = write(tmp_path / "d.csv", "department,ask\n内科,头疼怎么办\n")
    with pytest.raises(CorpusError) as err:
        read(path)
    assert "'department', 'ask'" in err.value.message and "--text-field ask" in err.value.hint


def test_parquet_is_read_in_batches(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"title": [f"t{i}" for i in range(50)], "text": [f"正文{i}" for i in range(50)]})
    path = tmp_path / "p.parquet"
    pq.write_table(table, path, row_group_size=7)
    docs = read(path)
    assert len(docs) == 50 and docs[49] == Document("正文49", f"{path}[49]")
    assert texts(path, text_field="title,text")[0] == "t0\n正文0"
    broken = write(tmp_path / "broken.parquet", b"PAR1 not really")
    with pytest.raises(CorpusError, match="broken.parquet"):
        read(broken)


# --- specs: directories, globs, errors -----------------------------------------------------------------------


def test_directory_is_recursive_and_skips_hidden_and_unknown_files(tmp_path):
    write(tmp_path / "c" / "b.txt", "b\n")
    write(tmp_path / "c" / "sub" / "a.md", "a\n")
    write(tmp_path / "c" / ".hidden.txt", "hidden\n")
    write(tmp_path / "c" / ".git" / "x.txt", "git\n")
    write(tmp_path / "c" / "image.png", b"\x89PNG\x00")
    corpus = open_corpus(tmp_path / "c")
    assert [d.text for d in corpus] == ["b", "a"] and corpus.stats.files == 2


def test_empty_or_unreadable_directory_fails_at_open(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"has no readable files \(.txt .md .jsonl .json .csv .tsv .parquet\)"):
        open_corpus(tmp_path / "empty")
    write(tmp_path / "xml" / "a.xml", "<a/>")
    with pytest.raises(CorpusError, match="no readable files"):
        open_corpus(tmp_path / "xml")


def test_glob_and_missing_paths(tmp_path):
    jsonl(tmp_path / "a.jsonl", [{"text": "a"}])
    jsonl(tmp_path / "b.jsonl", [{"text": "b"}])
    write(tmp_path / "c.txt", "c\n")
    assert list(iter_texts(str(tmp_path / "*.jsonl"))) == ["a", "b"]
    with pytest.raises(CorpusError, match="no files match"):
        open_corpus(str(tmp_path / "*.csv"))
    with pytest.raises(CorpusError, match="not a file, directory"):
        open_corpus([str(tmp_path / "c.txt"), str(tmp_path / "missing.txt")])
    with pytest.raises(CorpusError, match="not a file, directory"):
        open_corpus("data/missing.jsonl")  # looks like org/name, but a file extension means a path
    with pytest.raises(CorpusError, match="unknown file type"):
        open_corpus(str(write(tmp_path / "x.xml", "<x/>")))
    with pytest.raises(CorpusError, match="no corpus given"):
        open_corpus([])


def test_empty_corpus_raises_at_the_end_of_iteration(tmp_path):
    path = write(tmp_path / "blank.txt", "\n   \n\u3000\n")
    corpus = open_corpus(path)  # opening succeeds: the file exists
    with pytest.raises(CorpusError, match="yielded no text"):
        list(corpus)
    empty = jsonl(tmp_path / "e.jsonl", [{"text": ""}, {"text": " "}])
    with pytest.raises(CorpusError) as err:
        list(open_corpus(empty))
    assert "empty_text: 2" in err.value.hint


# --- corpus behaviour: limits, batches, re-iteration, describe ------------------------------------------------


def test_limits_batches_reiteration_and_stats(tmp_path):
    path = write(tmp_path / "l.txt", "".join(f"行{i:02d}\n" for i in range(10)))  # 10 docs of 3 chars
    corpus = open_corpus(path, CorpusConfig(max_docs=4))
    assert len(list(corpus)) == 4 and corpus.stats.stopped_at == "max_docs"
    corpus = open_corpus(path, CorpusConfig(max_chars=7))
    assert [d.text for d in corpus] == ["行00", "行01", "行"] and corpus.stats.chars == 7
    corpus = open_corpus(path)
    assert list(corpus) == list(corpus)  # re-iterable, same documents
    assert corpus.stats.as_dict() == {
        "documents": 10,
        "chars": 30,
        "bytes": 50,
        "files": 1,
        "skipped": {},
        "stopped_at": None,
    }
    assert [len(b) for b in corpus.batches(size_chars=9)] == [3, 3, 3, 1]
    with pytest.raises(UsageError):
        CorpusConfig(split="paragraph")


def test_describe_records_hashes_for_files_and_globs(tmp_path):
    path = write(tmp_path / "a.txt", "a\n")
    (entry,) = open_corpus(path).describe()
    assert entry["bytes"] == 2 and len(entry["sha256"]) == 64
    (glob_entry,) = open_corpus(str(tmp_path / "*.txt")).describe()
    assert [f["path"] for f in glob_entry["files"]] == [str(path.resolve())]


def test_streaming_keeps_memory_flat(tmp_path):
    path = tmp_path / "big.txt"
    line = ("语料" * 250 + "\n").encode()  # 1501 bytes
    with path.open("wb") as fh:
        for _ in range(50 * 2**20 // len(line) // 64):
            fh.write(line * 64)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_texts(path, CorpusConfig(split="line")))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 30_000
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB while streaming a 50 MB file"


# --- Hugging Face datasets (local, through the same code path) -----------------------------------------------


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """`datasets` with the hub switched off (fails fast instead of retrying) and its cache under tmp_path."""
    datasets = pytest.importorskip("datasets")
    hub_constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    return datasets


def test_hub_spec_parsing():
    source = hub_source("hf:org/name:cfg@validation")
    assert (source.dataset, source.name, source.split) == ("org/name", "cfg", "validation")
    assert hub_source("org/name").split == "train"
    assert hub_source("data/file.jsonl") is None and hub_source("plainword") is None


def test_local_dataset_folder_and_saved_dataset(tmp_path, offline_hub):
    jsonl(tmp_path / "ds" / "train.jsonl", [{"text": "甲"}, {"text": "乙"}])
    corpus = open_corpus(f"hf:{tmp_path / 'ds'}")
    assert [(d.text, d.source) for d in corpus] == [
        ("甲", f"hf:{tmp_path / 'ds'}[0]"),
        ("乙", f"hf:{tmp_path / 'ds'}[1]"),
    ]
    saved = offline_hub.DatasetDict({"test": offline_hub.Dataset.from_dict({"content": ["丙", "丁"]})})
    saved.save_to_disk(str(tmp_path / "saved"))
    assert texts(f"hf:{tmp_path / 'saved'}@test") == ["丙", "丁"]
    with pytest.raises(CorpusError, match="no split 'train'"):
        open_corpus(f"hf:{tmp_path / 'saved'}")


def test_unreachable_hub_dataset_is_a_corpus_error_with_network_hint(offline_hub):
    with pytest.raises(CorpusError) as err:
        open_corpus("no-such-org/no-such-dataset")
    assert "no-such-org/no-such-dataset" in err.value.message and "HF_HUB_OFFLINE" in err.value.hint
    assert "no local path" in err.value.hint


# --- corpus cards --------------------------------------------------------------------------------------------


def test_builtin_cards_parse():
    cards = {card.name: card for card in list_cards()}
    assert {"legal-zh", "news-zh", "wiki-zh", "fineweb-edu-en", "medical-zh-pretrain"} <= set(cards)
    assert cards["wiki-zh"].needs_network and not cards["legal-zh"].needs_network
    assert load_card("card:news-zh").source["format"] == "pos-tagged"
    with pytest.raises(CorpusError) as err:
        load_card("nope")
    assert "legal-zh" in err.value.hint


def test_builtin_cards_are_package_data_and_the_checkout_links_to_them():
    """A wheel carries the cards (importlib.resources finds them in the package, not in the checkout); the
    checkout's corpora/ is the same directory, so editing it edits what ships."""
    import importlib.resources
    import tomllib
    from pathlib import Path

    shipped = {p.name for p in (importlib.resources.files("vocabx") / "corpora").iterdir() if p.name.endswith(".toml")}
    assert {"legal-zh.toml", "news-zh.toml"} <= shipped
    assert {card.path.name for card in list_cards() if card.path.parent.name == "corpora"} == shipped
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "corpora/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["vocabx"]
    checkout = Path(__file__).resolve().parents[1] / "corpora"
    if checkout.exists():  # a source checkout (not an installed test tree)
        assert checkout.resolve() == Path(str(importlib.resources.files("vocabx") / "corpora")).resolve()


def test_card_with_missing_package_and_bad_card(tmp_path, monkeypatch):
    write(
        tmp_path / "cards" / "x.toml",
        """name = "x-zh"\ndescription = "test"\ninstall = "pip install x-corpus"
[source]\nkind = "package"\npackage = "x-corpus"\npath = "vocabx_no_such_pkg/a.txt"\nformat = "text"\n""",
    )
    monkeypatch.setenv("VOCABX_CORPORA", str(tmp_path / "cards"))
    with pytest.raises(CorpusError) as err:
        open_corpus("x-zh")
    assert (
        err.value.message == "corpus card 'x-zh' needs the package x-corpus"
        and err.value.hint == "pip install x-corpus"
    )
    write(tmp_path / "cards" / "y.toml", '[source]\nkind = "ftp"\n')
    with pytest.raises(CorpusError, match="y.toml"):
        list_cards()


def test_pos_tag_stripping():
    assert strip_pos_tags("19980101-01-001-001/m  迈向/v  充满/v  [中国/ns  政府/n]nt  。/w") == "迈向充满中国政府。"
    assert strip_pos_tags("WTO/nx  talks/nx  １２月/t") == "WTO talks１２月"


# --- integration on ../shared/data ---------------------------------------------------------------------------


@needs_shared
def test_gb18030_excerpt_matches_the_utf8_dialogues():
    medical = SHARED / "corpora" / "medical-zh"
    rows = read(medical / "dialogues.csv", text_field="title,ask,answer")
    assert len(rows) == 7644
    # The excerpt writes each dialogue as "title,ask" then "answer", separated by blank lines.
    expected = {doc.text.replace("\n", ",", 1) for doc in rows}
    corpus = open_corpus(medical / "neike-excerpt.gb18030.txt")
    blocks = [doc.text for doc in corpus]
    assert len(blocks) > 600
    assert all(block in expected for block in blocks[:-1])  # the last one is cut off with the file
    assert corpus.stats.skipped == {"truncated_final_char": 1}


def _card_or_skip(name: str):
    try:
        return open_corpus(name)
    except CorpusError as exc:
        if "needs the package" in exc.message:
            pytest.skip(str(exc))
        raise


def test_legal_zh_card():
    corpus = _card_or_skip("legal-zh")
    docs = list(corpus)
    assert len(docs) == 495 and docs[0].text.startswith("【立法目的】")
    assert docs[0].source == "card:legal-zh/criminal_law.csv:2"
    assert corpus.describe()[0]["package"] == "legal-documents-cn"


def test_news_zh_card_strips_tags():
    corpus = _card_or_skip("card:news-zh")
    first = next(iter(corpus))
    assert first.text == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"


def test_hub_card_offline_is_a_corpus_error(offline_hub):
    with pytest.raises(CorpusError) as err:
        open_corpus("wiki-zh")
    assert "wikimedia/wikipedia" in err.value.message and "HF_HUB_OFFLINE" in err.value.hint


def test_hints_name_only_the_flags_the_command_declares(tmp_path):
    path = write(tmp_path / "bad.jsonl", b'{"text": "ok"}\nnot json\n')
    with pytest.raises(CorpusError) as err:
        read(path, flags=(("text_field", "--replay SPEC#{}"),))
    assert "--" not in err.value.hint
    records = write(tmp_path / "r.jsonl", '{"sentence": "你好"}\n'.encode())
    with pytest.raises(CorpusError) as err:
        read(records, flags=(("text_field", "--replay SPEC#{}"),))
    assert "--replay SPEC#sentence" in err.value.hint
    with pytest.raises(CorpusError) as err:
        read(records, flags=())
    assert "--" not in err.value.hint and "text" in err.value.hint
