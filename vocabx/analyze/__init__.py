"""`vocabx analyze`: mine domain terms from a corpus, score them, select an overlap-aware ranking for a token
budget, and report how the base tokenizer fragments the corpus now and after adding the top K terms."""

from vocabx.analyze.api import AnalyzeConfig, AnalyzeResult, analyze

__all__ = ["AnalyzeConfig", "AnalyzeResult", "analyze"]
