"""Is a transcript Dutch? A small offline check on the share of common function words per language.

Function words ("de", "het", "en", "niet") make up a third or more of running text in any
language, and the lists below barely overlap, so counting them is enough to tell Dutch from
English, German, French and Spanish. The result is a warning, never a refusal.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Below this many words the counts say too little to judge.
MIN_WORDS = 40
# A chunk of this many words is judged on its own, to find a non-Dutch passage in a Dutch transcript.
CHUNK_WORDS = 100
# Dutch function words are at least this share of all words in ordinary Dutch text (usually 0.30-0.45).
MIN_DUTCH_SHARE = 0.12

STOPWORDS = {
    "nl": """de het een en van in is dat op te zijn niet met voor die er maar ook als bij of aan naar
        dan wel nog om je ik we wij ze zij hij heeft hebben werd worden wordt kan kunnen moet moeten
        dit deze veel meer zo al ja nee nou eigenlijk gewoon daar hier waar wat hoe omdat want toen
        uit door over tot geen ons onze hun jullie mijn u uw wordt hebt heb ben was waren zou zouden
        gaan gaat doen doet dus echt even iets niks niets alles heel beetje""",
    "en": """the and of to in is that it for on with as was are be this have not but they at by from
        or an we you he she which would there their what all were can has had been do does did so
        if about more when will my me our your them just like really because then than very""",
    "de": """der die das und ist nicht ich es sie wir zu den mit sich auf dem für ein eine einen auch
        als an aus bei nach noch wie war sind haben hat wird werden kann können muss dass aber oder
        wenn über mehr schon sehr nur unser unsere ihr euch gibt""",
    "fr": """le la les et est un une des du de que qui dans pour pas sur avec ce cette il elle nous
        vous ils sont être avoir fait plus mais ou où comme aussi très bien tout tous leur leurs
        au aux ne se sa son ses""",
    "es": """el la los las y es un una de que en por para con no se lo su sus al del como pero más
        muy también está están ser fue son hay yo nosotros ellos""",
}
NAMES = {"nl": "Dutch", "en": "English", "de": "German", "fr": "French", "es": "Spanish"}
_SETS = {lang: frozenset(words.split()) for lang, words in STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


@dataclass(frozen=True)
class LanguageGuess:
    """The most likely language (None when the text is too short), with per-language function-word shares."""

    language: str | None
    shares: dict[str, float]
    words: int


def detect_language(text: str) -> LanguageGuess:
    """Guess the language of a text from its function words."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return LanguageGuess(None, {}, len(words))
    counts = Counter(words)
    shares = {lang: sum(counts[w] for w in stop) / len(words) for lang, stop in _SETS.items()}
    best = max(shares, key=shares.get)
    return LanguageGuess(best if shares[best] > 0 else None, shares, len(words))


def language_warnings(text: str) -> list[str]:
    """Warnings when the whole text, or a passage of it, does not look Dutch."""
    guess = detect_language(text)
    if guess.language is None:
        return []
    if guess.language != "nl" or guess.shares["nl"] < MIN_DUTCH_SHARE:
        other = NAMES.get(guess.language, guess.language)
        return [f"the text does not look Dutch (it looks {other}: {guess.shares.get(guess.language, 0):.0%} "
                f"{other} function words, {guess.shares['nl']:.0%} Dutch); the codebook and the model are made "
                "for Dutch, so expect few or wrong suggestions"]
    passages = []
    for match_start, chunk in _chunks(text):
        chunk_guess = detect_language(chunk)
        if chunk_guess.language not in (None, "nl"):
            passages.append(f"{NAMES[chunk_guess.language]} near character {match_start}")
    if passages:
        return [f"parts of the text do not look Dutch ({'; '.join(passages[:5])}); suggestions there may be wrong"]
    return []


def _chunks(text: str) -> list[tuple[int, str]]:
    matches = list(_WORD.finditer(text))
    chunks = []
    for index in range(0, len(matches), CHUNK_WORDS):
        group = matches[index:index + CHUNK_WORDS]
        if len(group) >= MIN_WORDS:
            chunks.append((group[0].start(), text[group[0].start():group[-1].end()]))
    return chunks
