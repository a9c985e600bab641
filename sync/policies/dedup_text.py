"""How alike two job descriptions are (R31c): a light normaliser (case, punctuation, stop words, follow-up
noise, English suffixes) and a token Jaccard over what is left that forgives a typo (rapidfuzz), 0 to 1."""
from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

__all__ = ["description_similarity", "normalise_description", "stem"]

#: Function words: they change with the wording, never with the problem. Negations (no, not, won't) are
#: kept on purpose: "door latches" and "door does not latch" are different reports.
STOP_WORDS = frozenset("""
a an the this that these those it its is are was were be been being am do does did has have had
in on at of to for from with by into onto over under near about as and or but so than then there here
when while after before during since until if very really just also too some any all my our your their
his her we you they i me us them he she one will would can could should
""".split())
#: Words a follow-up adds to a report that say nothing about the problem ("URGENT:", "(second request)",
#: "tenant called again").
FOLLOW_UP_WORDS = frozenset("""
urgent asap again still second third request requested reminder please called calling tenant tenants
""".split())

#: Contractions, once their apostrophe is gone, say "not": "won't close" is "will not close".
NEGATIONS = frozenset("""
dont doesnt didnt isnt arent wasnt werent wont cant couldnt wouldnt shouldnt hasnt havent hadnt aint
""".split())
#: fuzz.ratio at which two words are one word mistyped: one letter dropped or doubled in a word of four or
#: more ("sprk", "keeep"). Lower, 4-letter words one letter apart would meet ("mold" and "cold" at 75).
TYPO_RATIO = 80

#: Removed rather than made spaces, so "won't" meets "wont" and "touch-up" meets "touchup".
_JOINERS = re.compile(r"['’`´]|(?<=\w)[-‐](?=\w)")
_DOUBLED = re.compile(r"([bcdfgkmnprtv])\1$")  # l, s, z stay doubled: "fill", "press", "buzz"
_VOWEL = re.compile(r"[aeiouy]")


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Strip an English inflection (-s, -es, -ies, -ing, -ed, -ly) and a final -e, so "leaks", "leaking"
    and "leaked" meet at "leak" and "close", "closes", "closing" at "clos".

    Hand-rolled rather than a Snowball or NLTK stemmer: dedup only needs both sides of a comparison to
    land on the same stem, the descriptions are short and often not English (a Spanish or CJK word passes
    through untouched here, where an English stemmer would mangle it), and a new runtime dependency for
    six suffixes is not worth it. A miss ("ran" / "run") costs little: the score compares characters.
    """
    if len(word) <= 3 or not word.isalpha() or not word.isascii():
        return word
    for suffix, replacement in (("ies", "y"), ("ied", "y")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            return word[: -len(suffix)] + replacement
    base = word
    if base.endswith(("sses", "ches", "shes", "xes", "zes")):
        base = base[:-2]
    elif base.endswith("s") and not base.endswith(("ss", "us", "is")):
        base = base[:-1]
    # One pass each, in this order, so "ceilings" and "ceiling" or "spreading" and "spread" still meet.
    if base.endswith("ing") and len(base) >= 6 and _VOWEL.search(base[:-3]):
        base = _undouble(base[:-3])
    if base.endswith("ed") and not base.endswith("eed") and len(base) >= 5 and _VOWEL.search(base[:-2]):
        base = _undouble(base[:-2])
    if base.endswith("ly") and len(base) >= 7:
        base = base[:-2]
    if base.endswith("e") and len(base) > 3 and not base.endswith("ee"):
        base = base[:-1]
    return base


def _undouble(stem_: str) -> str:
    return stem_[:-1] if _DOUBLED.search(stem_) else stem_


@lru_cache(maxsize=8192)
def normalise_description(text: str | None) -> str:
    """The words of a description that name the problem: lower case, no punctuation (apostrophes and
    hyphens inside a word join it), no stop or follow-up words, each word stemmed, each once, sorted."""
    words = default_process(_JOINERS.sub("", text or "")).split()
    kept = set()
    for word in words:
        if word in STOP_WORDS or word in FOLLOW_UP_WORDS:
            continue
        if word in NEGATIONS:
            word = "not"
        stemmed = stem(word)
        if stemmed not in FOLLOW_UP_WORDS:
            kept.add(stemmed)
    return " ".join(sorted(kept))


def description_similarity(a: str | None, b: str | None) -> float:
    """R31c: the Jaccard of the two descriptions' normalised words, where a word one letter off a word on
    the other side (``fuzz.ratio`` ≥ 80: a dropped, doubled or extra letter) counts as shared. 1.0 for the
    same words in any order, case, punctuation or inflection, with or without stop words and follow-up
    noise; empty descriptions are never alike.

    Whole words, not characters, are compared on purpose: rapidfuzz's token_sort_ratio scores "leak under
    the bedroom sink" against "... bathroom sink" 0.94 because one word is a few characters of a long
    string, and token_set_ratio scores 1.0 whenever one description's words are a subset of the other's."""
    left, right = normalise_description(a).split(), normalise_description(b).split()
    if not left or not right:
        return 0.0
    unmatched = [w for w in right if w not in left]
    shared = len(right) - len(unmatched)
    for word in (w for w in left if w not in right):
        near = process.extractOne(word, unmatched, scorer=fuzz.ratio, score_cutoff=TYPO_RATIO)
        if near is not None:
            shared += 1
            unmatched.pop(near[2])
    return shared / (len(left) + len(right) - shared)
