"""The project's import graph has no cycles between modules (design.md: "No cycles"); the layer and
package contracts themselves are .importlinter's, run by `make lint`."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("greenlight", "sync", "warehouse")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Imports under TYPE_CHECKING count: a cycle kept only for the type checker is still a tangle.
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_the_graph_holds_every_package(graph):
    expected = {"greenlight.settings", "sync.engine.runner", "warehouse.scd", "sync.simulators.datasets"}
    assert expected <= graph.modules


def test_no_module_imports_itself_back(graph):
    # An import A -> B closes a cycle exactly when B reaches A again; grimp answers that per edge.
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if graph.chain_exists(importer=imported, imported=importer):
                back = graph.find_shortest_chain(importer=imported, imported=importer)
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
