"""One rank of the two-process CPT test: `python -m torch.distributed.run --nproc_per_node 2 dist_worker.py
MODEL DATA OUT RANKS` trains a few steps and writes RANKS/rank-<r>.json with the losses that rank saw."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vocabx.train import CPTConfig, train_cpt


class RankLosses(TrainerCallback):
    """Records, on every rank, the loss of each step's micro-batch as that rank computed it."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.world = 0

    def on_step_end(self, args, state, control, **kwargs):
        self.world = args.world_size

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))


def main(model: str, data: str, out: str, ranks: str) -> None:
    recorder = RankLosses()
    result = train_cpt(CPTConfig(model=model, data=(data,), out=out, block_size=16, batch_size=2, max_steps=4,
                                 embed_steps=1, save_steps=2, log_steps=1, method="lora"), callbacks=[recorder])
    rank = int(os.environ["RANK"])
    record = {"rank": rank, "world": recorder.world, "losses": recorder.losses, "steps": result["steps"],
              "global_batch": result["global_batch"], "finite": all(math.isfinite(x) for x in recorder.losses)}
    Path(ranks, f"rank-{rank}.json").write_text(json.dumps(record), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:5])
