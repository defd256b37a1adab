"""The layout holds: imports run one way, no module cycle, few modules at the top level.

cli -> api -> reporting -> history/diff -> metrics -> io -> schema/config/errors/dataset. The
graph is read from every module's syntax tree, imports inside functions included; imports under
`if TYPE_CHECKING:` are annotations only and never run, so they are left out (as in fava).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crmkpi"

# Lowest first: a module may import its own room, and any room below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("crmkpi", "crmkpi.schema", "crmkpi.config", "crmkpi.config_schema", "crmkpi.errors",
     "crmkpi.dataset"),
    ("crmkpi.io",),
    ("crmkpi.metrics",),
    ("crmkpi.history", "crmkpi.diff"),
    ("crmkpi.reporting",),
    ("crmkpi.api",),
    ("crmkpi.cli", "crmkpi.__main__"),
)  # fmt: skip

# Every command module is imported to build `crmkpi --help`: what a command needs (polars, the
# catalog, a renderer) is imported when it runs.
IN_FUNCTION_ROOMS = {"crmkpi.cli"}

# The other imports inside functions, each with why it waits.
IN_FUNCTION = {
    # `crmkpi.load` of a Parquet folder should not import the KPI catalog or the report builder:
    # each API function imports only its own path.
    ("crmkpi.api", "crmkpi.io.cache"): "load only",
    ("crmkpi.api", "crmkpi.io.load"): "load only",
    ("crmkpi.api", "crmkpi.metrics"): "metric and table only",
    ("crmkpi.api", "crmkpi.metrics.base"): "metric, table and query only",
    ("crmkpi.api", "crmkpi.metrics.evaluate"): "metric and table only",
    ("crmkpi.api", "crmkpi.metrics.explain"): "explain only",
    ("crmkpi.api", "crmkpi.metrics.scope"): "metric, table, report and explain only",
    ("crmkpi.api", "crmkpi.metrics.sql_guard"): "query only",
    ("crmkpi.api", "crmkpi.metrics.sql_literals"): "query only",
    ("crmkpi.api", "crmkpi.reporting.build"): "report only",
    ("crmkpi.api", "crmkpi.reporting.i18n"): "report only",
    ("crmkpi.api", "crmkpi.reporting.dataset_files"): "convert only",
    ("crmkpi.api", "crmkpi.reporting.targets"): "load: KPI ids of the targets, before reading",
    ("crmkpi.api", "crmkpi.schema"): "tables only (polars)",
    # Parsing crmkpi.toml does not import polars unless a source maps columns.
    ("crmkpi.config", "crmkpi.schema"): "polars",
    ("crmkpi.config_schema", "crmkpi.schema"): "polars",
    # Protected paths read the parse cache's settings only when an output is written.
    ("crmkpi.reporting.output", "crmkpi.config"): "output only",
    ("crmkpi.reporting.output", "crmkpi.io.cache"): "output only",
    # A target file without targets does not load the catalog (and polars behind it).
    ("crmkpi.reporting.targets", "crmkpi.metrics"): "targets only",
}

# Left to be untangled, listed so that none is added and none outlives its fix: none left (the
# metrics room runs one way since the metrics declare their kind, crmkpi.metrics.kinds).
KNOWN_IN_FUNCTION: set[tuple[str, str]] = set()
KNOWN_AGAINST_ORDER: set[tuple[str, str]] = set()
KNOWN_CYCLES: set[frozenset[str]] = set()

MAX_TOP_LEVEL_MODULES = 10


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return True
    return False


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """The crmkpi modules an import statement loads (the deepest one each name reaches)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in MODULES:
                yield alias.name
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in MODULES:
            yield submodule
        elif base in MODULES:
            yield base


def import_edges() -> set[tuple[str, str, bool]]:
    """(importer, imported, inside a function) for every import of a crmkpi module that runs."""
    edges = set()
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if _under_type_checking(node, parents):
                continue
            for target in _targets(node, module, path.name == "__init__.py"):
                if target != module:
                    edges.add((module, target, _in_function(node, parents)))
    return edges


def layer(module: str) -> int:
    """The layer of `module`: the one naming its longest prefix."""
    best, best_length = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_length:
                best, best_length = index, len(name)
    return best


def cycles(
    edges: set[tuple[str, str, bool]], modules: Iterable[str] = MODULES
) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for importer, imported, _ in edges:
        graph[importer].add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


EDGES = import_edges()


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if layer(m) < 0] == []


def test_no_import_cycle() -> None:
    assert set(cycles(EDGES)) == KNOWN_CYCLES


def test_imports_run_one_way() -> None:
    against = {(a, b) for a, b, _ in EDGES if layer(b) > layer(a)}
    assert against == KNOWN_AGAINST_ORDER


def test_imports_inside_functions_are_on_the_list() -> None:
    inside = {(a, b) for a, b, in_function in EDGES if in_function}
    unlisted = {
        (a, b)
        for a, b in inside
        if not any(a == room or a.startswith(room + ".") for room in IN_FUNCTION_ROOMS)
    }
    assert unlisted == set(IN_FUNCTION) | KNOWN_IN_FUNCTION


def test_few_modules_at_the_top_level() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


@pytest.mark.parametrize(
    ("importer", "imported", "expected"),
    [
        ("crmkpi.cli.report_cmd", "crmkpi.api", True),
        ("crmkpi.metrics.base", "crmkpi.schema", True),
        ("crmkpi.reporting.build", "crmkpi.metrics.base", True),
        ("crmkpi.io.load", "crmkpi.reporting.output", False),
        ("crmkpi.metrics.evaluate", "crmkpi.api", False),
        ("crmkpi.config", "crmkpi.metrics", False),
        ("crmkpi.history.store", "crmkpi.reporting.model", False),
    ],
)
def test_the_order_itself(importer: str, imported: str, expected: bool) -> None:
    # The check above is only as good as `layer`: io may not reach up into reporting (writing
    # a file is an output), config may not reach the catalog, a store sits below the report.
    assert (layer(imported) <= layer(importer)) is expected


def test_the_graph_reader_sees_imports_inside_functions_and_skips_type_checking() -> None:
    # crmkpi/api.py imports the report builder inside `report()` and the Report model only
    # under TYPE_CHECKING (read by hand from the file).
    assert ("crmkpi.api", "crmkpi.reporting.build", True) in EDGES
    assert not any(a == "crmkpi.api" and b == "crmkpi.reporting.model" for a, b, _ in EDGES)


def test_cycle_finder_on_a_small_graph() -> None:
    # a -> b -> c -> a loops (one import inside a function is enough); d hangs off it.
    edges = {("a", "b", False), ("b", "c", True), ("c", "a", False), ("c", "d", False)}
    assert cycles(edges, ["a", "b", "c", "d"]) == [frozenset({"a", "b", "c"})]
