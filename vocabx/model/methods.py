"""The embedding-initialization methods by name: the choices of `vocabx extend --init/--init-output` and
`extend_model(init=...)`, what each does, and the default. Kept free of torch so that configs can name them."""

from __future__ import annotations

import typing
from typing import Literal

InputMethod = Literal["mean", "mean-noise", "subword-mean", "subword-last", "subword-first", "subword-mean-norm",
                      "random", "zero"]
OutputMethod = Literal[InputMethod, "logit-match"]  # logit-match needs the output side's own forward pass
INPUT_METHODS: tuple[str, ...] = typing.get_args(InputMethod)
OUTPUT_METHODS: tuple[str, ...] = typing.get_args(OutputMethod)
DEFAULT_INIT: InputMethod = "subword-mean"  # keeps a tied head tied; bench/results/model_init.md

INIT_HELP: dict[str, str] = {
    "mean": "the mean of the old rows (Hewitt 2021: bounds the KL between the old and the new model's distribution)",
    "mean-noise": "the mean plus a small sample from the old rows' covariance (x 1e-5), so new rows differ",
    "subword-mean": "FVT: the mean of the rows of the pieces the base tokenizer splits the entry's text into "
    "(recommended for a tied model)",
    "subword-last": "weighted FVT: piece rows weighted 1, 1/2, 1/4, ... back from the last piece "
    "(recommended input side, with --init-output subword-first)",
    "subword-first": "weighted FVT: piece rows weighted 1, 1/2, 1/4, ... on from the first piece "
    "(recommended output side; unties a tied head unless --init is the same)",
    "subword-mean-norm": "subword-mean rescaled to the mean norm of its pieces' rows (an ablation: in a tied head "
    "the longer rows give new tokens far too much probability)",
    "random": "N(0, initializer_range): what a plain resize does; an ablation",
    "zero": "all zeros; an ablation",
    "logit-match": "output side only: first piece's output row plus a shift so that the new token's logit is about "
    "log P(its piece sequence) under the base model",
}
