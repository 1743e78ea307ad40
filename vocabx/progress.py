"""Progress on stderr for the long steps that are not a loop over items (loading a model, reading a corpus, saving):
one line naming the step while it runs, then how long it took. Drawn by tqdm like vocabx's bars, so the two mix on
one terminal, and only when the caller asked for progress."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


@contextlib.contextmanager
def step(what: str, progress: bool) -> Iterator[None]:
    """Show `what ...` on stderr while the block runs and `what: 3.2 s` once it is done (`what: failed after 3.2 s`
    when it raised); show nothing without `progress`. For example `with step("loading model runs/cpt", True):`
    around a load leaves the line `loading model runs/cpt: 3.2 s` on stderr.
    """
    if not progress:
        yield
        return
    from tqdm import tqdm

    line = tqdm(total=None, bar_format="{desc}", desc=f"{what} ...", leave=True)
    started = time.perf_counter()
    outcome = "failed after "
    try:
        yield
        outcome = ""
    finally:
        line.set_description_str(f"{what}: {outcome}{time.perf_counter() - started:.1f} s", refresh=False)
        line.close()
