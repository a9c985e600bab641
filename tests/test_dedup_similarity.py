"""How alike two job descriptions are (R31c): a rewording of one problem scores 1.0, a different problem in
the same unit stays below the similarity a match must exceed, and R32's thresholds read the score."""
import dataclasses

import pytest

from sync.policies.dedup import description_similarity, temporal_score, verdict
from sync.policies.dedup_text import normalise_description, stem
from sync.policies.flags import Flags

FLAGS = Flags.defaults()


@pytest.mark.parametrize("first,second", [
    # the words in another order, with and without stop words (word overlap gave these 0.5)
    ("Kitchen sink is leaking", "Leaking sink in the kitchen"),
    ("Tree branch leaning over the driveway after the storm",
     "after the storm, a tree branch is leaning over the driveway"),
    # inflections: plural, -ing, -ed, -es, -ies, a doubled consonant, a dropped e
    ("Kitchen faucet dripping constantly", "kitchen faucets drip constantly"),
    ("Breaker keeps tripping when the dryer runs", "breaker tripped, keeps tripping when dryer running"),
    ("Smoke detector battery dead", "smoke detectors: batteries dead"),
    ("Window won't close", "windows not closing"),
    ("Front door latches are torn", "front door latch torn"),
    # punctuation, case, apostrophes and hyphens
    ("Touch-up paint needed after move-out", "TOUCHUP PAINT NEEDED AFTER MOVEOUT!!!"),
    ("Window won't close", "window will not close."),
    # what a follow-up adds
    ("No heat in unit 4", "URGENT: no heat in unit 4 (second request) - tenant called again"),
    ("Leaking kitchen faucet in unit 4, water under the sink",
     "URGENT: leaking kitchen faucet in unit 4 - water under sink"),
    # text in other languages passes through untouched
    ("Calefacción no funciona; niño enfermo en casa", "calefacción no funciona, niño enfermo en casa!"),
    ("浴室の換気扇が動かない", "浴室の換気扇が動かない (second request)"),
])
def test_a_rewording_of_the_same_problem_scores_one(first, second):
    assert description_similarity(first, second) == 1.0
    assert description_similarity(second, first) == 1.0


def test_a_typo_still_counts_as_the_word():
    fridge = "Refrigerator not keeping food cold"
    assert description_similarity(fridge, "Refrigerator not keepng food cold") == 1.0
    assert description_similarity("Outlet sparks in the garage", "outlet sprks in the garage") == 1.0
    # one letter apart in a four-letter word is another word, not a typo
    assert description_similarity("bathroom mold", "bathroom cold") == pytest.approx(1 / 3)


@pytest.mark.parametrize("first,second,at_most", [
    ("kitchen sink leaking", "kitchen light flickering", 0.2),
    ("Ants in the kitchen near the window sill", "Window in the kitchen won't close completely", 0.3),
    ("Refrigerator not keeping food cold", "Dishwasher leaves standing water after cycle", 0.0),
    ("Door latches", "Door does not latch", 0.7),  # a negation is kept
    # the same fault in another room of the unit is another job
    ("Leak under the bedroom sink", "Leak under the bathroom sink", 0.5),
    ("Fuga de agua debajo del fregadero de la cocina", "Fuga de agua debajo del fregadero del baño", 0.8),
])
def test_different_problems_in_the_same_unit_stay_apart(first, second, at_most):
    score = description_similarity(first, second)
    assert score <= at_most
    assert temporal_score(score, FLAGS) is None  # not even a candidate for review


def test_one_extra_word_in_a_longer_description_is_a_near_match_for_staff():
    score = description_similarity("Leaking kitchen faucet in unit 4, water under the sink",
                                   "Leaking kitchen faucet in unit 4, water under the sink and on the floor")
    assert score == pytest.approx(7 / 8)
    assert verdict(temporal_score(score, FLAGS), FLAGS) == "review"


def test_empty_descriptions_are_never_alike():
    assert description_similarity("", "anything") == 0.0
    assert description_similarity(None, None) == 0.0
    assert description_similarity("the a of", "the a of") == 0.0  # nothing but stop words


def test_the_normaliser_keeps_the_words_that_name_the_problem():
    assert normalise_description("URGENT: The toilets are RUNNING non-stop!") == "nonstop run toilet"
    words = ("leaks", "leaking", "leaked", "closes", "closing", "batteries", "ceilings")
    assert [stem(w) for w in words] == ["leak", "leak", "leak", "clos", "clos", "battery", "ceil"]
    assert stem("glass") == "glass" and stem("status") == "status" and stem("fregadero") == "fregadero"


def test_a_score_means_what_the_flags_say():
    assert [verdict(s, FLAGS) for s in (1.0, 0.95, 0.9, 0.8, 0.79)] == [
        "duplicate", "duplicate", "review", "review", "create"]
    assert temporal_score(0.8, FLAGS) is None  # the similarity must exceed DEDUP_DESCRIPTION_SIMILARITY
    assert temporal_score(0.85, FLAGS) == 0.85
    # another PW work order's job is at most sent to staff
    assert temporal_score(1.0, FLAGS, other_work_order=True) == 0.9
    strict = dataclasses.replace(FLAGS, dedup_description_similarity=0.9, dedup_confidence=0.99)
    assert temporal_score(0.85, strict) is None and verdict(0.97, strict) == "review"
