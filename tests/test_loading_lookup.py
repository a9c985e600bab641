"""loading.Lookup: rows read for the keys a step expects, a miss read on its own, the whole table beyond
BY_ID_UP_TO keys, and a value a step adds kept with the rest."""

from __future__ import annotations

from sync.loaders.rows import BY_ID_UP_TO, Lookup

TABLE = {k: f"row {k}" for k in range(1, 2 * BY_ID_UP_TO)}


def _recording() -> tuple[Lookup, list]:
    reads: list = []

    def read(keys):
        reads.append(None if keys is None else sorted(keys))
        return TABLE if keys is None else {k: TABLE[k] for k in keys if k in TABLE}

    return Lookup(read), reads


def test_prefetched_keys_are_read_once_and_a_miss_on_its_own():
    rows, reads = _recording()
    rows.prefetch([1, 2, None, 2])
    assert (rows.get(1), rows.get(2), rows.get(None)) == ("row 1", "row 2", None)
    assert rows.get(7) == "row 7" and rows.get(-1, "absent") == "absent" and rows.get(-1) is None
    assert reads == [[1, 2], [7], [-1]]


def test_beyond_by_id_up_to_keys_the_whole_table_is_read():
    rows, reads = _recording()
    rows.prefetch(range(1, BY_ID_UP_TO + 2))
    assert rows.get(BY_ID_UP_TO + 5) == f"row {BY_ID_UP_TO + 5}" and rows.get(-1) is None
    assert reads == [None]


def test_setdefault_reads_first_and_keeps_what_it_adds():
    rows, reads = _recording()
    assert rows.setdefault(3, "new") == "row 3"
    assert rows.setdefault(-4, "new") == "new" and rows.get(-4) == "new"
    assert reads == [[3], [-4]]
