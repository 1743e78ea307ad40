"""A generated pool for the `vocabx select` tests, whose truth is known: medical, general Chinese and English
documents from word lists, edited copies and junk; JSON lines helpers; one selection run over the pool.

Plain helpers with no tests: tests/conftest.py builds the `pool` session fixture with `write_pool`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from vocabx.select import SelectConfig, select_documents

MEDICAL = ["患者", "医生", "血压", "治疗", "药物", "检查", "症状", "高血压", "糖尿病", "胰岛素", "心电图", "抗生素",
           "头痛", "发烧", "医院", "手术"]
GENERAL = ["今天", "城市", "天气", "比赛", "球队", "市场", "股票", "学校", "音乐", "电影", "新闻", "政府", "经济",
           "公司", "旅游", "记者"]
ENGLISH = ["the", "city", "river", "music", "game", "team", "news", "market", "weather", "school"]


def doc(words: list[str], rng: random.Random, n: int = 40, sep: str = "") -> str:
    text = sep.join(rng.choice(words) for _ in range(n))
    return "，".join(text[i:i + 12] for i in range(0, len(text), 12)) + "。"


def read_jsonl(path: Path) -> list[dict]:
    """Records of a JSON lines file (split at \\n only: JSON keeps U+2028 and friends unescaped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def write_jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    return path


def write_pool(root: Path) -> dict:
    """A pool of 120 medical, 240 general Chinese and 60 English documents, 10 edited copies of medical documents
    and 4 junk documents, in two files; and a 40-document medical sample from the same generator."""
    rng = random.Random(0)
    medical = [doc(MEDICAL, rng) for _ in range(120)]
    general = [doc(GENERAL, rng) for _ in range(240)]
    english = [doc(ENGLISH, rng, 20, " ") for _ in range(60)]
    copies = [m[:-6] + "的了是在" + m[-4:] for m in medical[:10]]
    junk = ["\n".join([medical[20][:40]] * 8), medical[21].encode("utf-8").decode("latin-1"),
            "版权所有 保留所有权利 联系我们\n点击查看更多 登录 注册\n" + medical[22][:30],
            "".join(c + "★■▲" for c in medical[23])]
    first = medical[:60] + general[:120] + english[:30] + junk[:2]
    second = medical[60:] + general[120:] + english[30:] + copies + junk[2:]
    rng.shuffle(first)
    rng.shuffle(second)
    write_jsonl(root / "a.jsonl", first)
    write_jsonl(root / "b.jsonl", second)
    sample = write_jsonl(root / "sample.jsonl", [doc(MEDICAL, rng) for _ in range(40)])
    return {"dir": root, "sample": sample, "medical": set(medical), "copies": set(copies), "junk": set(junk),
            "files": [root / "a.jsonl", root / "b.jsonl"]}


def run(pool: dict, out: Path, **fields) -> tuple[dict, list[dict]]:
    """Select from the pool into `out` (one worker, a 400-document reference): the report and the chosen records."""
    cfg = SelectConfig(pool=tuple(str(f) for f in pool["files"]), domain=(str(pool["sample"]),), out=str(out),
                       workers=1, reference_docs=400, **fields)
    report = select_documents(cfg)
    rows = read_jsonl(out / "domain.jsonl")
    return report, rows
