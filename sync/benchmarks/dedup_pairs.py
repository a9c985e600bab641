"""The dedup benchmark (R31c-R32, ``manage.py bench_dedup``): a seeded, labelled set of description pairs
made from the simulators' vocabulary (rewordings of one problem against different problems in the same
unit), and what the dedup decision makes of it."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from sync.policies.dedup import description_similarity, temporal_score, verdict
from sync.policies.flags import Flags
from sync.simulators.vocabulary import DESCRIPTIONS, NEAR_DUPLICATE_SUFFIXES, ROOMS

#: What a rewording may do to a description; a duplicate pair applies one to three of them to each side.
REWORDINGS = ("word_order", "stop_words", "inflection", "punctuation", "case", "follow_up", "typo")
_FILLERS = ("the", "a", "is", "in the", "and", "of the", "very", "it is", "there is")
_STOP = {"the", "a", "an", "in", "on", "of", "is", "and", "after", "when", "at", "near", "to"}
#: Words an inflection leaves alone: stop words, the fillers, and a few whose forms are irregular.
_FUNCTION_WORDS = _STOP | {w for f in _FILLERS for w in f.split()} | {"does", "over", "not", "won't"}
_PUNCTUATION = re.compile(r"[,;.!()\-—]")
_ING_NOUNS = {"ceiling", "building", "railing", "siding", "flooring"}
_WORD = re.compile(r"^[A-Za-z]{4,}$")


@dataclass(frozen=True)
class Pair:
    """Two descriptions and whether they report the same problem; ``kind`` says how they were made."""

    left: str
    right: str
    duplicate: bool
    kind: str


def labelled_pairs(seed: int = 31, duplicates: int = 200, different: int = 200) -> list[Pair]:
    """``duplicates`` rewordings of one template (in one room) and ``different`` pairs of other problems
    in the same unit: another template in the same room, or (a third of them) the same fault in another
    room. Both sides of every pair are reworded, so the wording alone never gives the label away."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(duplicates):
        template, room = rng.choice(DESCRIPTIONS)[1], rng.choice(ROOMS)
        text = template.format(room=room)
        left, left_kinds = reword(text, rng)
        right, right_kinds = reword(text, rng)
        pairs.append(Pair(left, right, True, "+".join(sorted(set(left_kinds) | set(right_kinds)))))
    roomed = [t for _, t in DESCRIPTIONS if "{room}" in t]
    for i in range(different):
        room = rng.choice(ROOMS)
        if i % 3 == 2:
            template = rng.choice(roomed)
            other_room = rng.choice([r for r in ROOMS if r != room])
            first, second, kind = template.format(room=room), template.format(room=other_room), "other_room"
        else:
            one, two = rng.sample([t for _, t in DESCRIPTIONS], 2)
            first, second, kind = one.format(room=room), two.format(room=room), "other_problem"
        pairs.append(Pair(reword(first, rng)[0], reword(second, rng)[0], False, kind))
    return pairs


def reword(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """``text`` with one to three rewordings applied, and their names."""
    kinds = rng.sample(REWORDINGS, rng.randint(1, 3))
    words = text.split()
    for kind in _ORDER:  # case last, so it applies to every word added before
        if kind in kinds:
            words = _APPLY[kind](words, rng)
    return " ".join(w for w in words if w), kinds


def _word_order(words: list[str], rng: random.Random) -> list[str]:
    """Clauses swapped, a word moved, or every word shuffled."""
    words = list(words)
    clauses = [i for i, w in enumerate(words[:-1]) if w.endswith((",", ";"))]
    choice = rng.random()
    if clauses and choice < 0.4:
        cut = rng.choice(clauses) + 1
        return words[cut:] + words[:cut]
    if choice < 0.7 and len(words) > 2:
        word = words.pop(rng.randrange(len(words)))
        words.insert(rng.randrange(len(words) + 1), word)
        return words
    rng.shuffle(words)
    return words


def _stop_words(words: list[str], rng: random.Random) -> list[str]:
    """Stop words dropped, or one or two added."""
    kept = [w for w in words if w.lower() not in _STOP]
    if kept != words and len(kept) >= 2 and rng.random() < 0.5:
        return kept
    words = list(words)
    for _ in range(rng.randint(1, 2)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(_FILLERS))
    return words


def _inflection(words: list[str], rng: random.Random) -> list[str]:
    """One or two words given another ending (none, plural or third-person -s, -ing, -ed)."""
    candidates = [i for i, w in enumerate(words) if _WORD.match(w) and w.lower() not in _FUNCTION_WORDS
                  and not w.lower().endswith("ly")]
    words = list(words)
    for i in rng.sample(candidates, min(len(candidates), rng.randint(1, 2))):
        base, ending = split_ending(words[i])
        endings = ("", "s") if base.lower() in _ING_NOUNS else ("", "s", "ing", "ed")
        words[i] = inflect(base, rng.choice([e for e in endings if e != ending]))
    return words


def split_ending(word: str) -> tuple[str, str]:
    """``word``'s base and its ending by English spelling (dripping: drip, ing; batteries: battery, s)."""
    lower = word.lower()
    if lower in _ING_NOUNS:
        return word, ""
    if lower.endswith("ing") and len(lower) > 5:
        base = word[:-3]
        doubled = len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz"  # dripping: drip
        return (base[:-1] if doubled else base), "ing"
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y", "s"
    if lower.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2], "s"
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return word[:-1], "s"
    if lower.endswith("ed") and len(lower) > 4:
        return word[:-2], "ed"
    return word, ""


def inflect(word: str, ending: str) -> str:
    """``word`` (a base) with ``ending``: a plural / third-person -s, -ing or -ed, spelled as English spells
    it (closes, batteries, dripping, closing, tried), or nothing."""
    lower = word.lower()
    consonant_y = lower.endswith("y") and lower[-2:-1] not in "aeiou"
    short = len(lower) <= 4 and re.search(r"[^aeiou][aeiou][^aeiouwxy]$", lower)
    if ending == "":
        return word
    if ending == "s":
        if lower.endswith(("s", "x", "z", "ch", "sh")):
            return word + "es"
        return word[:-1] + "ies" if consonant_y else word + "s"
    if ending == "ing":
        if lower.endswith("e") and not lower.endswith("ee"):
            return word[:-1] + "ing"
        return word + word[-1] + "ing" if short else word + "ing"
    if lower.endswith("e"):
        return word + "d"
    if consonant_y:
        return word[:-1] + "ied"
    return word + word[-1] + "ed" if short else word + "ed"


def _punctuation(words: list[str], rng: random.Random) -> list[str]:
    """Punctuation stripped, or a comma, dash or exclamation mark added."""
    stripped = [_PUNCTUATION.sub("", w) for w in words]
    if stripped != words and rng.random() < 0.5:
        return stripped
    words = list(words)
    mark = rng.choice((",", " -", "!", ".", ";"))
    i = rng.randrange(len(words))
    words[i] = words[i] + mark
    return words


def _typo(words: list[str], rng: random.Random) -> list[str]:
    """A slip of the keyboard in one longer word: a letter dropped, doubled, or swapped with the next."""
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return words
    words = list(words)
    i = rng.choice(candidates)
    word, at = words[i], rng.randrange(1, len(words[i]) - 1)
    slip = rng.choice(("drop", "double", "swap"))
    if slip == "drop":
        words[i] = word[:at] + word[at + 1:]
    elif slip == "double":
        words[i] = word[:at] + word[at] + word[at:]
    else:
        words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return words


def _case(words: list[str], rng: random.Random) -> list[str]:
    how = rng.choice((str.upper, str.lower, str.title, str.capitalize))
    return [how(w) for w in words]


def _follow_up(words: list[str], rng: random.Random) -> list[str]:
    """What a tenant's second report adds: "URGENT:" in front, or "(second request)", "again"… after."""
    if rng.random() < 0.3:
        return ["URGENT:", *words]
    return [*words, *rng.choice(NEAR_DUPLICATE_SUFFIXES).split()]


_ORDER = ("word_order", "stop_words", "inflection", "typo", "punctuation", "follow_up", "case")
_APPLY = {
    "word_order": _word_order,
    "stop_words": _stop_words,
    "inflection": _inflection,
    "punctuation": _punctuation,
    "typo": _typo,
    "case": _case,
    "follow_up": _follow_up,
}


@dataclass(frozen=True)
class Figures:
    """What the dedup decision makes of a labelled set: per kind of pair, how many were skipped as
    duplicates, held for review or created; and the precision and recall of the first two."""

    by_kind: dict[str, dict[str, int]]
    missed: dict[str, tuple[int, int]]  # rewording → (duplicates made with it, of which created)
    auto_precision: float | None  # of the pairs skipped as duplicates, the share that were duplicates
    auto_recall: float  # of the duplicates, the share skipped
    review_precision: float | None  # of the pairs not created (skipped or held), the duplicates
    review_recall: float  # of the duplicates, the share not created


def measure(pairs: list[Pair], flags: Flags) -> Figures:
    """Run R31c and R32 (``temporal_score`` and ``verdict``, as the dedup service does for an SF job in the
    window at the work order's place) over ``pairs``."""
    by_kind: dict[str, dict[str, int]] = {}
    missed = {kind: [0, 0] for kind in REWORDINGS}
    auto, held = {True: 0, False: 0}, {True: 0, False: 0}
    for pair in pairs:
        score = temporal_score(description_similarity(pair.left, pair.right), flags)
        decision = "create" if score is None else verdict(score, flags)
        kind = "duplicate" if pair.duplicate else pair.kind
        counts = by_kind.setdefault(kind, {"pairs": 0, "duplicate": 0, "review": 0, "create": 0})
        counts["pairs"] += 1
        counts[decision] += 1
        for rewording in pair.kind.split("+") if pair.duplicate else ():
            missed[rewording][0] += 1
            missed[rewording][1] += decision == "create"
        auto[pair.duplicate] += decision == "duplicate"
        held[pair.duplicate] += decision != "create"
    positives = sum(p.duplicate for p in pairs) or 1
    return Figures(
        by_kind=by_kind,
        missed={kind: (made, lost) for kind, (made, lost) in missed.items()},
        auto_precision=auto[True] / (auto[True] + auto[False]) if any(auto.values()) else None,
        auto_recall=auto[True] / positives,
        review_precision=held[True] / (held[True] + held[False]) if any(held.values()) else None,
        review_recall=held[True] / positives,
    )
