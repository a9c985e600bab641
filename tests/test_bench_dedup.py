"""The dedup benchmark (R31c-R32): a seeded labelled set of description pairs from the simulators' vocabulary,
on which the decision meets its targets (a correctness measure: precision of automatic skips, recall into
review), and ``manage.py bench_dedup`` printing those figures last."""
import re
from io import StringIO

import pytest
from django.core.management import call_command

from sync.benchmarks.dedup_pairs import REWORDINGS, inflect, labelled_pairs, measure, split_ending
from sync.policies.dedup_text import normalise_description
from sync.policies.flags import Flags, set_flag
from sync.simulators.vocabulary import DESCRIPTIONS, ROOMS

AUTO_PRECISION, REVIEW_RECALL = 0.98, 0.9


def test_the_labelled_set_is_seeded_and_made_of_both_labels():
    pairs = labelled_pairs()
    assert len(pairs) >= 200
    assert pairs == labelled_pairs() and pairs != labelled_pairs(seed=7)
    duplicates = [p for p in pairs if p.duplicate]
    assert len(duplicates) == 200 and len(pairs) - len(duplicates) == 200
    assert {p.kind for p in pairs if not p.duplicate} == {"other_problem", "other_room"}
    assert {kind for p in duplicates for kind in p.kind.split("+")} == set(REWORDINGS)
    assert sum(p.left != p.right for p in duplicates) > 190  # reworded, not copied


def test_every_pair_is_made_of_the_simulators_descriptions():
    templates = {normalise_description(t.format(room=room)) for _, t in DESCRIPTIONS for room in ROOMS}
    words = {w for t in templates for w in t.split()}
    for pair in labelled_pairs()[:50]:
        # Rewordings change spelling, not vocabulary: most words of each side are the template's.
        for side in (pair.left, pair.right):
            found = normalise_description(side).split()
            assert sum(w in words for w in found) >= len(found) - 2, side


def test_inflections_are_spelled_as_english_spells_them():
    assert [inflect("drip", e) for e in ("s", "ing", "ed")] == ["drips", "dripping", "dripped"]
    assert [inflect("close", e) for e in ("s", "ing", "ed")] == ["closes", "closing", "closed"]
    assert [inflect("battery", "s"), inflect("try", "ed"), inflect("latch", "s")] == [
        "batteries", "tried", "latches"]
    assert split_ending("dripping") == ("drip", "ing") and split_ending("ceiling") == ("ceiling", "")


def test_the_decision_meets_its_targets_on_the_labelled_set():
    figures = measure(labelled_pairs(), Flags.defaults())
    assert figures.auto_precision is not None and figures.auto_precision >= AUTO_PRECISION
    assert figures.review_recall >= REVIEW_RECALL
    assert figures.auto_recall >= 0.9  # most rewordings need no one to look at them
    assert figures.by_kind["other_problem"]["create"] == figures.by_kind["other_problem"]["pairs"]
    # another seed, another set: the figures are not the luck of one draw
    other = measure(labelled_pairs(seed=2), Flags.defaults())
    assert other.auto_precision >= AUTO_PRECISION and other.review_recall >= REVIEW_RECALL


def _figures(out: str) -> tuple[float, float, float]:
    *_, auto, review = out.strip().splitlines()
    precision, recall = map(float, re.findall(r"(?:precision|recall) (\d\.\d+)", auto))
    assert auto.startswith("automatic (score >= ") and review.startswith("into review (score >= ")
    return precision, recall, float(re.search(r"recall (\d\.\d+)", review).group(1))


@pytest.mark.django_db
def test_bench_dedup_prints_the_figures_under_the_stored_flags_last():
    out = StringIO()
    call_command("bench_dedup", stdout=out)
    precision, _, recall = _figures(out.getvalue())
    assert precision >= AUTO_PRECISION and recall >= REVIEW_RECALL
    assert "labelled pairs      400 (seed 31)" in out.getvalue()

    set_flag("DEDUP_REVIEW_THRESHOLD", "0.9", reason="test")
    out = StringIO()
    call_command("bench_dedup", "--similarity", "1.0", stdout=out)  # nothing exceeds 1.0: all created
    *_, auto, review = out.getvalue().strip().splitlines()
    assert auto == "automatic (score >= 0.95)   precision n/a   recall 0.000"
    assert review == "into review (score >= 0.9)   recall 0.000"
