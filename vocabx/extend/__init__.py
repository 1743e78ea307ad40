"""`vocabx extend`: grow a tokenizer's real vocabulary (pieces, merges, entries) with domain terms, check the
guarantees (old ids kept, lossless, reachable, never longer, fast/slow agree, deterministic), and write OUT.
"""

from vocabx.extend.api import ExtendConfig, ExtendResult, extend
from vocabx.extend.base import Extender, Extension, NewEntry
from vocabx.extend.registry import get_extender, supported_families
from vocabx.extend.terms import TermList, read_terms
from vocabx.extend.verify import VerifyInputs, VerifyReport, verify

__all__ = [
    "ExtendConfig",
    "ExtendResult",
    "Extender",
    "Extension",
    "NewEntry",
    "TermList",
    "VerifyInputs",
    "VerifyReport",
    "extend",
    "get_extender",
    "read_terms",
    "supported_families",
    "verify",
]
