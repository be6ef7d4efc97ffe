"""Duplicate matters (DOMAIN.md rule 12, 减负): is a new item the same matter as one on the ledger?

Pure functions over text: no models, no database. The service computes a `signature` once per item
and stores `Signature.to_json()`; a lookup then `compare`s a new item's signature with those of a
unit's open items and shows the candidates, with `Match.reasons`, to a person who decides.
"""

from supervision.matching.score import (
    DEFAULT_THRESHOLD,
    Match,
    MatterText,
    Signature,
    compare,
    conflicting,
    duplicate_threshold,
    signature,
)
from supervision.matching.units import unit_key

__all__ = [
    "DEFAULT_THRESHOLD",
    "Match",
    "MatterText",
    "Signature",
    "compare",
    "conflicting",
    "duplicate_threshold",
    "signature",
    "unit_key",
]
