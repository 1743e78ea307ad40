"""fastText as the relevance classifier (`--scorer fasttext`): a supervised linear model over characters and
character bigrams (Chinese has no spaces, so each character is fed as a word), domain sample against reference.
The score is the log-odds of the domain label, so 0 means even, as for the n-gram model.

Needs the optional `fasttext-wheel` package (`pip install 'vocabx[select]'`).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vocabx.errors import require
from vocabx.select.textbatch import TextBatch

SPACES = re.compile(r"\s+")
EPOCHS = 10  # fastText's default is 5; 10 on a few hundred documents, still under a second
LABELS = ("__label__domain", "__label__general")


def as_words(text: str) -> str:
    """fastText's input: characters separated by spaces (whitespace runs become one `_`), ASCII case folded.

    >>> as_words("Ab 血压")
    'a b _ 血 压'
    """
    return " ".join(SPACES.sub("_", text.strip().lower()))


@dataclass
class FastTextScorer:
    model: Any
    name: str = "fasttext"

    def __getstate__(self) -> dict[str, Any]:  # fastText models do not pickle: ship the saved bytes instead
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.bin")
            self.model.save_model(path)
            with open(path, "rb") as fh:
                return {"bytes": fh.read(), "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        fasttext = require("fasttext", "--scorer fasttext", "fasttext-wheel")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.bin")
            with open(path, "wb") as fh:
                fh.write(state["bytes"])
            self.model = fasttext.load_model(path)
        self.name = state["name"]

    def score(self, batch: TextBatch) -> np.ndarray:
        lines = [as_words(t) for t in batch.texts]
        # k=1: with fasttext-wheel 0.9.2 under numpy 2, k=2 repeats the top probability for both labels; with two
        # classes (softmax) the top label and its probability say everything.
        labels, probs = self.model.predict(lines, k=1)
        out = np.empty(len(lines))
        for i, (names, p) in enumerate(zip(labels, probs)):
            top = float(p[0])
            p_domain = top if names[0] == LABELS[0] else 1.0 - top
            p_domain = min(max(p_domain, 1e-6), 1 - 1e-6)
            out[i] = math.log(p_domain / (1 - p_domain))
        return out


@dataclass
class FastTextLearner:
    """Trains a supervised fastText model (word 1-2 grams over characters, so character bigrams) per fit."""

    threads: int = 1
    seed: int = 42
    name: str = "fasttext"

    def fit(self, domain: Sequence[str], reference: Sequence[str]) -> FastTextScorer:
        fasttext = require("fasttext", "--scorer fasttext", "fasttext-wheel")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "train.txt")
            # Classes balanced by repeating the (small) domain sample: trained on 200 against 5,000 documents,
            # fastText learned to call nearly everything general (held-out recall 0.44 on the bench pool).
            copies = max(1, round(len(reference) / max(len(domain), 1)))
            rows = ([f"{LABELS[0]} {as_words(t)}" for t in domain] * copies
                    + [f"{LABELS[1]} {as_words(t)}" for t in reference])
            np.random.default_rng(self.seed).shuffle(rows)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("\n".join(rows) + "\n")
            model = fasttext.train_supervised(path, epoch=EPOCHS, wordNgrams=2, minCount=1, dim=50, loss="softmax",
                                              thread=self.threads, seed=self.seed, verbose=0)
        return FastTextScorer(model)
