"""Sentence segmentation of Dutch interview speech with spaCy.

Two modes: "rules" (a blank Dutch pipeline: the sentencizer plus a rule component for what it
gets wrong in transcribed speech) and "nl_core_news_lg" (the trained pipeline's parser, when that
package is installed). Offsets are always absolute character offsets into the text passed in.
"""
from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.shared.errors import ModelUnavailableError

log = logging.getLogger(__name__)

LG_PACKAGE = "nl_core_news_lg"
MODES = ("auto", "rules", LG_PACKAGE)
RULES_COMPONENT = "qcoder_nl_interview_rules"
# Raise when the rules change, so runs record which rules produced their sentences.
RULES_VERSION = 1
# A transcript turn can be long; the blank tokenizer needs little memory per character.
RULES_MAX_LENGTH_CHARS = 10_000_000

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


@dataclass(frozen=True)
class SentenceSpan:
    """One sentence as [start, end) absolute character offsets, whitespace stripped."""

    start: int
    end: int


class Segmenter:
    """Splits text into sentences with one spaCy pipeline, built once."""

    def __init__(self, mode: str) -> None:
        if mode == "rules":
            self._nlp = _build_rules_pipeline()
        elif mode == LG_PACKAGE:
            self._nlp = _build_lg_pipeline()
        else:
            raise ValueError(f"segmenter mode must be 'rules' or {LG_PACKAGE!r}, got {mode!r}")
        self.mode = mode

    @property
    def label(self) -> str:
        """Mode and version, for provenance (ProcessingRun.segmenter): changes when boundaries can."""
        import spacy

        if self.mode == "rules":
            return f"rules-v{RULES_VERSION}:spacy=={spacy.__version__}"
        return f"{LG_PACKAGE}=={self._nlp.meta.get('version', 'unknown')}"

    def split(self, text: str, start: int = 0, end: int | None = None) -> list[SentenceSpan]:
        """Segment text[start:end]; return non-empty sentences as absolute offsets into `text`."""
        end = len(text) if end is None else end
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"span [{start}, {end}) is outside the text (length {len(text)})")
        doc = self._nlp(text[start:end])
        spans: list[SentenceSpan] = []
        for sent in doc.sents:
            span = _strip(text, start + sent.start_char, start + sent.end_char)
            if span is not None:
                spans.append(span)
        return spans


def build_segmenter(mode: str = "auto") -> Segmenter:
    """Build the segmenter for `mode` ("auto", "rules" or "nl_core_news_lg"); never downloads."""
    if mode not in MODES:
        raise ValueError(f"segmenter mode must be one of {MODES}, got {mode!r}")
    lg_installed = _lg_installed()
    if mode == "auto":
        mode = LG_PACKAGE if lg_installed else "rules"
        if not lg_installed:
            log.info("segmenter: %s is not installed, auto mode uses the rule-based segmenter", LG_PACKAGE)
    elif mode == LG_PACKAGE and not lg_installed:
        log.warning(
            "segmenter: %s was configured but the package is not installed; using the rule-based "
            "segmenter instead. Install it with: %s (or: python -m spacy download %s)",
            LG_PACKAGE, lg_install_command(), LG_PACKAGE,
        )
        mode = "rules"
    segmenter = Segmenter(mode)
    log.info("segmenter: active mode %s (%s)", segmenter.mode, segmenter.label)
    return segmenter


def lg_install_command() -> str:
    """The pip command that installs the nl_core_news_lg release matching the installed spaCy."""
    from spacy.about import __version__ as spacy_version

    # Trained pipelines are published per spaCy minor version, as x.y.0, on GitHub (not PyPI).
    release = ".".join(spacy_version.split(".")[:2]) + ".0"
    return (
        "pip install https://github.com/explosion/spacy-models/releases/download/"
        f"{LG_PACKAGE}-{release}/{LG_PACKAGE}-{release}-py3-none-any.whl"
    )


def _lg_installed() -> bool:
    return importlib.util.find_spec(LG_PACKAGE) is not None


def _build_rules_pipeline():  # noqa: ANN202 - spacy.Language, imported lazily
    import spacy

    _register_rules_component()
    nlp = spacy.blank("nl")
    nlp.max_length = RULES_MAX_LENGTH_CHARS
    nlp.add_pipe("sentencizer")
    nlp.add_pipe(RULES_COMPONENT, after="sentencizer")
    return nlp


def _build_lg_pipeline():  # noqa: ANN202 - spacy.Language, imported lazily
    import spacy

    try:
        nlp = spacy.load(LG_PACKAGE)
    except OSError as exc:
        raise ModelUnavailableError(
            f"spaCy pipeline {LG_PACKAGE} could not be loaded ({exc}); reinstall it with "
            f"{lg_install_command()}, or set QCODER_SEGMENTER=rules",
            package=LG_PACKAGE,
        ) from exc
    if "parser" not in nlp.pipe_names:
        raise ModelUnavailableError(
            f"spaCy pipeline {LG_PACKAGE} has no parser to find sentence boundaries; "
            "reinstall the package or set QCODER_SEGMENTER=rules",
            package=LG_PACKAGE,
        )
    # Only the parser (and the embeddings it listens to) decide boundaries; the rest costs time.
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in ("tok2vec", "parser")])
    return nlp


def _strip(text: str, start: int, end: int) -> SentenceSpan | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return SentenceSpan(start, end) if start < end else None


# --- the rule component -------------------------------------------------------------------


def _register_rules_component() -> None:
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


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundaryScores:
    """Sentence-boundary precision, recall and F1 (a boundary is a sentence start after the first)."""

    true_positives: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        """Share of predicted boundaries that are gold boundaries."""
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of gold boundaries that were predicted."""
        return self.true_positives / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: BoundaryScores) -> BoundaryScores:
        return BoundaryScores(
            self.true_positives + other.true_positives, self.predicted + other.predicted, self.gold + other.gold
        )


def boundary_scores(gold: Sequence[SentenceSpan], predicted: Sequence[SentenceSpan]) -> BoundaryScores:
    """Compare the boundaries (sentence starts except the first) of two segmentations of one text."""
    gold_starts = {span.start for span in gold[1:]}
    predicted_starts = {span.start for span in predicted[1:]}
    return BoundaryScores(len(gold_starts & predicted_starts), len(predicted_starts), len(gold_starts))


def spans_of_sentences(text: str, sentences: Sequence[str]) -> list[SentenceSpan]:
    """Locate gold sentences in `text`; only whitespace may lie between and around them."""
    spans: list[SentenceSpan] = []
    position = 0
    for sentence in sentences:
        stripped = sentence.strip()
        found = text.find(stripped, position) if stripped else -1
        if found < 0 or text[position:found].strip():
            raise ValueError(f"sentence {sentence!r} does not follow position {position} in {text!r}")
        spans.append(SentenceSpan(found, found + len(stripped)))
        position = found + len(stripped)
    if text[position:].strip():
        raise ValueError(f"text after the last sentence is not covered: {text[position:]!r}")
    return spans
