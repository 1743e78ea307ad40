"""Evaluation of models on text: bits per character (`vocabx.eval.bpc`), comparable across tokenizers."""
