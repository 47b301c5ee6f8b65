"""The shape of the code, checked: no two modules import each other (directly or round a longer cycle), and no
code outside the door, the selectors and the services reads a family record's table directly. The layer
contracts themselves are import-linter's (``[tool.importlinter]`` in pyproject.toml, run by ``make lint``)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest
from django.apps import apps
from django.db import models

from kinfold.access.registry import registered
from kinfold.families.models import Family

SRC = Path(__file__).resolve().parents[1] / "src" / "kinfold"

# Where a family record's table may be read: the door, selectors (and the accounting's selector), services,
# the models themselves, the declarations to the door, the one timeline writer, migrations, and the synthetic
# data generator (a management command that writes the invented region in bulk, never on a request).
ALLOWED = (
    "access/",
    "/selectors.py",
    "/services.py",
    "/services/",
    "/models.py",
    "/records.py",
    "/migrations/",
    "families/timeline.py",
    "consent/accounting.py",
    "demo/",
)
READERS = {"get_object_or_404", "get_list_or_404"}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other round a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_two_modules_import_each_other_even_inside_a_function():
    graph = grimp.build_graph("kinfold", cache_dir=None)
    edges = {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m.startswith("kinfold")}
        for module in graph.modules
    }
    # A package's __init__ gathering its own modules is not a cycle unless a module imports the package back.
    cycles = _strongly_connected(edges)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(group) for group in cycles)


def test_the_cycle_finder_finds_a_cycle():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _family_data_models() -> set[str]:
    """Every registered family-record type, and every other model that belongs to a family."""
    names = {rt.name for rt in registered()}
    for model in apps.get_models():
        if any(
            isinstance(f, models.ForeignKey) and f.related_model is Family for f in model._meta.get_fields()
        ) and model._meta.app_label in {"families", "notes", "consent"}:
            names.add(model.__name__)
    return names


def _direct_reads(path: Path, names: set[str], root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"objects", "_default_manager"}
            and isinstance(node.value, ast.Name)
            and node.value.id in names
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value.id}.{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in READERS
            and node.args
            and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node.args[0]))
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.func.id}")
    return found


@pytest.mark.django_db
def test_family_records_are_read_only_through_the_door_selectors_and_services():
    names = _family_data_models()
    assert {"Note", "PregnancyEpisode", "ConsentDirective", "Disclosure", "FamilyActivity"} <= names
    reads = []
    for path in sorted(SRC.rglob("*.py")):
        relative = "/" + str(path.relative_to(SRC))
        if any(allowed in relative for allowed in ALLOWED):
            continue
        reads += _direct_reads(path, names)
    assert not reads, "read family records through an access_<record> selector instead:\n" + "\n".join(reads)


def test_the_read_check_sees_a_direct_read(tmp_path):
    view = tmp_path / "views.py"
    view.write_text("def page(request, pk):\n    return Note.objects.get(pk=pk), get_object_or_404(Note, pk=pk)\n")
    reads = [line.split(": ", 1)[1] for line in _direct_reads(view, {"Note"}, tmp_path)]
    assert sorted(reads) == ["Note.objects", "get_object_or_404"]
