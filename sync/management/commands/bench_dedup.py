"""Benchmark: how well the dedup decision (R31c-R32) tells a reworded work order from another problem in the
same unit, over the seeded labelled pairs of ``sync.benchmarks.dedup_pairs``, with the stored flags."""
from __future__ import annotations

import dataclasses

from django.core.management.base import CommandError

from greenlight.dbcheck import SchemaCommand
from sync.benchmarks.dedup_pairs import labelled_pairs, measure
from sync.policies.flags import Flags, read_flags


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class Command(SchemaCommand):
    help = ("Measure duplicate-job detection on labelled description pairs: precision and recall of the "
            "automatic decisions and recall into review, under the DEDUP_* flags (or the values given).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=31, help="seed of the labelled set (default 31)")
        parser.add_argument("--duplicates", type=int, default=200, help="reworded pairs (default 200)")
        parser.add_argument("--different", type=int, default=200,
                            help="pairs of different problems in one unit (default 200)")
        parser.add_argument("--defaults", action="store_true",
                            help="start from the flags' defaults, not the stored values (no database needed)")
        parser.add_argument("--confidence", type=float, help="try this DEDUP_CONFIDENCE instead of the flag")
        parser.add_argument("--review", type=float, help="try this DEDUP_REVIEW_THRESHOLD instead")
        parser.add_argument("--similarity", type=float, help="try this DEDUP_DESCRIPTION_SIMILARITY instead")

    def needs_schema(self, options) -> bool:
        return not options["defaults"]  # the flags' defaults, not the stored flags: no table is read

    def handle(self, *args, **opts) -> None:
        if opts["duplicates"] < 1 or opts["different"] < 1:
            raise CommandError("--duplicates and --different must be positive")
        tried = {"dedup_confidence": opts["confidence"], "dedup_review_threshold": opts["review"],
                 "dedup_description_similarity": opts["similarity"]}
        if any(v is not None and not 0 <= v <= 1 for v in tried.values()):
            raise CommandError("thresholds are fractions between 0 and 1")
        stored = Flags.defaults() if opts["defaults"] else read_flags()
        flags = dataclasses.replace(stored, **{k: v for k, v in tried.items() if v is not None})
        pairs = labelled_pairs(opts["seed"], opts["duplicates"], opts["different"])
        figures = measure(pairs, flags)
        out = self.stdout.write
        out(f"labelled pairs      {len(pairs)} (seed {opts['seed']})")
        out(f"thresholds          DEDUP_CONFIDENCE {flags.dedup_confidence}, DEDUP_REVIEW_THRESHOLD "
            f"{flags.dedup_review_threshold}, DEDUP_DESCRIPTION_SIMILARITY "
            f"> {flags.dedup_description_similarity}{' (defaults)' if opts['defaults'] else ''}")
        out(f"{'pairs':<20}{'count':>7}{'skipped':>9}{'review':>8}{'created':>9}")
        for kind, counts in figures.by_kind.items():
            out(f"{kind:<20}{counts['pairs']:>7}{counts['duplicate']:>9}{counts['review']:>8}{counts['create']:>9}")
        out("duplicates created, by rewording: " + ", ".join(
            f"{kind} {lost}/{made}" for kind, (made, lost) in figures.missed.items()))
        out(f"not created         precision {_share(figures.review_precision)} "
            "(skipped or held; not a target)")
        out(f"automatic (score >= {flags.dedup_confidence})   precision {_share(figures.auto_precision)}   "
            f"recall {_share(figures.auto_recall)}")
        out(f"into review (score >= {flags.dedup_review_threshold})   recall {_share(figures.review_recall)}")
