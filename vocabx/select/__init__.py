"""`vocabx select`: choose continued-pretraining documents from a mixed pool by domain relevance, quality,
deduplication and balance (see api.py for the stages)."""

from vocabx.select.api import select_documents
from vocabx.select.config import SelectConfig

__all__ = ["SelectConfig", "select_documents"]
