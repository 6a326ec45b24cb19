"""The spaCy rule component that corrects the sentencizer for Dutch interview speech.

Abbreviations, ellipses, numbered lists, quotes and brackets, blank lines: what a plain sentencizer
gets wrong in transcribed speech. Used by services.worker.segment's "rules" mode.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

RULES_COMPONENT = "qcoder_nl_interview_rules"

# Abbreviations that need a complement (titles before names, prepositional phrases, "d.w.z."):
# they never end a sentence, even before a capital ("dhr. Jansen", "o.a. Den Haag").
NEVER_FINAL_ABBREVIATIONS = frozenset({
    "dhr.", "mevr.", "mw.", "dr.", "drs.", "ir.", "ing.", "mr.", "prof.", "st.", "nr.", "blz.",
    "ca.", "vgl.", "zgn.", "z.g.", "o.a.", "i.p.v.", "t.a.v.", "m.b.t.", "t.o.v.", "n.a.v.",
    "i.v.m.", "a.d.h.v.", "d.m.v.", "d.w.z.", "m.n.", "v.w.b.", "t.b.v.", "i.c.m.",
})
# Abbreviations that can close a sentence ("... hulpmiddelen enz. Maar ..."): they end it only
# when a capitalised word follows.
MAY_END_ABBREVIATIONS = frozenset({
    "bijv.", "bv.", "enz.", "etc.", "e.d.", "e.a.", "m.i.", "o.i.", "t.z.t.", "z.g.a.n.", "a.s.",
    "j.l.", "jl.", "resp.", "evt.", "incl.", "excl.", "max.", "min.", "mln.", "mld.", "gem.",
    "ong.", "tel.", "a.u.b.", "s.v.p.", "c.q.", "i.o.m.",
})
# Lower case only: "Jan." is also a first name.
MONTH_ABBREVIATIONS = frozenset({
    "jan.", "feb.", "mrt.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "okt.", "nov.", "dec.",
})
_DOTTED_LETTERS = re.compile(r"(?:[a-z]\.){2,}")
_INITIALS = re.compile(r"(?:[A-Z]\.)+")
_LIST_NUMBER = re.compile(r"\d{1,2}")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_ELLIPSIS = re.compile(r"(?:\.{2,}|…)[.…]*")

_CLOSING_ONLY = frozenset({"”", "’", "»", ")", "]", "}"})
_OPENING_ONLY = frozenset({"“", "‘", "„", "«", "(", "[", "{"})
_AMBIGUOUS_QUOTES = frozenset({'"', "'"})
_STRONG_TERMINALS = frozenset({"!", "?", "?!", "!?"})


def register_rules_component() -> None:
    """Make the rule component known to spaCy under RULES_COMPONENT (once per process)."""
    from spacy.language import Language

    if not Language.has_factory(RULES_COMPONENT):
        Language.component(RULES_COMPONENT, func=nl_interview_rules)


def nl_interview_rules(doc):  # noqa: ANN001, ANN201 - spacy Doc in and out
    """Correct the sentencizer's boundaries for Dutch interview speech (runs after it)."""
    tokens = list(doc)
    if not tokens:
        return doc
    starts = [bool(token.is_sent_start) for token in tokens]
    starts[0] = True
    depth = _bracket_depths(tokens)
    for i, token in enumerate(tokens):
        abbreviation = _abbreviation_at(tokens, i)
        if abbreviation is not None:
            last, may_end = abbreviation
            # Inside brackets a capital after an abbreviation is a name: "(bijv. Noord)".
            _decide_after(tokens, starts, last, may_end and depth[i] == 0)
        elif _ELLIPSIS.fullmatch(token.text):
            _decide_after(tokens, starts, i, may_end=depth[i] == 0)
        elif token.text == "." and _is_list_number(tokens, i - 1):
            _decide_after(tokens, starts, i, may_end=False)
            if i > 1 and "\n" in _gap_before(tokens, i - 1):
                starts[i - 1] = True  # a numbered item on its own line
        elif token.text == "." or token.text in _STRONG_TERMINALS:
            _keep_quoted_continuation(tokens, starts, i)
    _move_starts_before_opening_punct(tokens, starts)
    _split_blank_lines(tokens, starts)
    _move_starts_off_whitespace(tokens, starts)
    from spacy.attrs import SENT_START

    # One array write: the per-token setter re-checks the whole doc each time (quadratic).
    values = np.array([1 if is_start else -1 for is_start in starts], dtype=np.int64).astype(np.uint64)
    doc.from_array([SENT_START], values)
    return doc


def _abbreviation_at(tokens: Sequence, i: int) -> tuple[int, bool] | None:
    """(index of its last token, whether it can end a sentence) if an abbreviation starts at i."""
    token = tokens[i]
    # The tokenizer keeps some abbreviations whole ("bijv.") and splits others ("m.i" + ".").
    if token.text.endswith("."):
        candidate, last = token.text, i
    elif i + 1 < len(tokens) and tokens[i + 1].text == "." and not token.whitespace_:
        candidate, last = token.text + ".", i + 1
    else:
        return None
    if len(candidate) < 2 or not candidate[0].isalpha():
        return None
    lower = candidate.lower()
    if lower in NEVER_FINAL_ABBREVIATIONS or _INITIALS.fullmatch(candidate):
        return last, False  # "dhr. Jansen", "J.P. de Vries"
    if lower in MAY_END_ABBREVIATIONS or candidate in MONTH_ABBREVIATIONS or _DOTTED_LETTERS.fullmatch(lower):
        return last, True
    if last == i:
        # The Dutch tokenizer keeps thousands of dictionary abbreviations whole, among them
        # ordinary words ("dat.", "al."); the sentencizer never splits after those.
        return last, True
    return None


def _is_list_number(tokens: Sequence, i: int) -> bool:
    """Whether tokens[i] is a list marker ("1." at a line start, after ':', or before lower case)."""
    if i < 0 or not _LIST_NUMBER.fullmatch(tokens[i].text) or tokens[i].whitespace_:
        return False
    prev = _previous_content(tokens, i)
    if prev is None or "\n" in _gap_before(tokens, i) or tokens[prev].text == ":":
        return True
    word = _next_word(tokens, i + 2)
    return word is not None and tokens[word].text[:1].islower()


def _decide_after(tokens: Sequence, starts: list[bool], terminal: int, may_end: bool) -> None:
    """Set the boundary after tokens[terminal]: a sentence starts only if may_end and a capital follows."""
    nxt = terminal + 1
    while nxt < len(tokens) and (tokens[nxt].is_space or _is_closing(tokens, nxt)):
        nxt += 1
    if nxt < len(tokens) and tokens[nxt].text in _STRONG_TERMINALS:
        return  # "dus...?" : the question mark ends it, as the sentencizer decided
    word = _next_word(tokens, nxt)
    for k in range(terminal + 1, len(tokens) if word is None else word + 1):
        starts[k] = False
    if word is not None:
        starts[nxt] = may_end and tokens[word].text[:1].isupper()


def _keep_quoted_continuation(tokens: Sequence, starts: list[bool], terminal: int) -> None:
    """'"Waarom niet?" vroeg ik.': a closing quote or bracket, then lower case, continues the sentence."""
    nxt = terminal + 1
    closers = 0
    while nxt < len(tokens) and (
        tokens[nxt].is_space or _is_closing(tokens, nxt) or tokens[nxt].text in _STRONG_TERMINALS
    ):
        closers += _is_closing(tokens, nxt)
        nxt += 1
    if closers and nxt < len(tokens) and tokens[nxt].text[:1].islower():
        for k in range(terminal + 1, nxt + 1):
            starts[k] = False


def _move_starts_before_opening_punct(tokens: Sequence, starts: list[bool]) -> None:
    """An opening quote or bracket belongs to the sentence it opens, not to the one before."""
    for i in range(1, len(tokens)):
        if not starts[i]:
            continue
        k = i
        while k > 0 and _is_opening(tokens, k - 1):
            k -= 1
        if k != i:
            starts[i] = False
            starts[k] = True


def _split_blank_lines(tokens: Sequence, starts: list[bool]) -> None:
    """A blank line ends a sentence; a single newline is only line wrapping."""
    for i, token in enumerate(tokens):
        if i > 0 and not token.is_space and _BLANK_LINE.search(_gap_before(tokens, i)):
            starts[i] = True


def _move_starts_off_whitespace(tokens: Sequence, starts: list[bool]) -> None:
    for i in range(1, len(tokens)):
        if starts[i] and tokens[i].is_space:
            starts[i] = False
            nxt = _next_content(tokens, i + 1)
            if nxt is not None:
                starts[nxt] = True


def _bracket_depths(tokens: Sequence) -> list[int]:
    """For each token, how many round or square brackets are open before it."""
    depths, depth = [], 0
    for token in tokens:
        depths.append(depth)
        if token.text in ("(", "["):
            depth += 1
        elif token.text in (")", "]"):
            depth = max(0, depth - 1)
    return depths


def _gap_before(tokens: Sequence, i: int) -> str:
    """The whitespace between tokens[i] and the previous non-space token."""
    k = i - 1
    gap = ""
    while k >= 0 and tokens[k].is_space:
        gap = tokens[k].text_with_ws + gap
        k -= 1
    return (tokens[k].whitespace_ if k >= 0 else "") + gap


def _is_closing(tokens: Sequence, i: int) -> bool:
    text = tokens[i].text
    if text in _CLOSING_ONLY:
        return True
    # A straight quote attached to the word before it closes; one after a space opens.
    return text in _AMBIGUOUS_QUOTES and i > 0 and not tokens[i - 1].whitespace_ and not tokens[i - 1].is_space


def _is_opening(tokens: Sequence, i: int) -> bool:
    text = tokens[i].text
    return text in _OPENING_ONLY or (text in _AMBIGUOUS_QUOTES and not _is_closing(tokens, i))


def _next_word(tokens: Sequence, i: int) -> int | None:
    while i < len(tokens) and (tokens[i].is_space or _is_opening(tokens, i)):
        i += 1
    return i if i < len(tokens) else None


def _next_content(tokens: Sequence, i: int) -> int | None:
    while i < len(tokens) and tokens[i].is_space:
        i += 1
    return i if i < len(tokens) else None


def _previous_content(tokens: Sequence, i: int) -> int | None:
    k = i - 1
    while k >= 0 and tokens[k].is_space:
        k -= 1
    return k if k >= 0 else None
