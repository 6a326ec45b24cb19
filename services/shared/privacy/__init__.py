"""Privacy: pseudonymising transcripts on upload, the encrypted key, and names reviewers mark by hand.

See docs/privacy.md for what is recognised, how the key is protected and what deletion removes.
"""
from services.shared.privacy.keys import KeyCipher, KeyEntry, cipher_from_settings, reveal
from services.shared.privacy.missed_names import MarkedName, mark_missed_name
from services.shared.privacy.placeholders import KINDS, Entity, OffsetMap, Replacement, replace_spans
from services.shared.privacy.pseudonymiser import ProjectPseudonymiser, PseudonymisedText, project_pseudonymiser
from services.shared.privacy.recognisers import Recogniser, get_recogniser

__all__ = [
    "KINDS", "Entity", "KeyCipher", "KeyEntry", "MarkedName", "OffsetMap", "ProjectPseudonymiser",
    "PseudonymisedText", "Recogniser", "Replacement", "cipher_from_settings", "get_recogniser",
    "mark_missed_name", "project_pseudonymiser", "replace_spans", "reveal",
]
