"""`vocabx eval`: what changed in a model, measured on held-out text.

bpc.py (bits per character, comparable across tokenizers) · context.py (context gain) · decode_speed.py (greedy
chars/s) · usage.py (new-token emission, under-trained criterion) · newrows.py (the new rows and their init) ·
curves.py / plots.py (training log, PNGs) · config.py / api.py / result.py / writer.py (`evaluate`, eval.json).
"""

from vocabx.eval.config import EvalConfig

__all__ = ["EvalConfig", "evaluate"]


def __getattr__(name: str):
    # `evaluate` pulls in torch and transformers: imported on first use, so `import vocabx.eval` stays light.
    if name == "evaluate":
        from vocabx.eval.api import evaluate

        return evaluate
    raise AttributeError(name)
