"""No import circle among the modules of chat/, referral/ and volunteer/.

Every ``import`` and ``from … import`` counts, wherever it stands: an import inside
a function only postpones a circle to run time, it does not remove it. A
``from package import name`` is an edge to the submodule ``package.name`` when
there is one, else to the package's ``__init__``. The implicit import of a parent
package (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``) is not an
edge: every submodule would otherwise be in a circle with its package.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chat", "referral", "volunteer")



def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root`` by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.add(_longest_known(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.add(sub if sub in known else _longest_known(source, known))
    out.discard("")
    out.discard(name)
    return out


def _longest_known(dotted: str, known: dict[str, Path]) -> str:
    parts = dotted.split(".")
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return ""


def graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_import_circle_among_the_packages_modules() -> None:
    edges = graph(ROOT, PACKAGES)
    assert len(edges) > 50 and edges["referral.stats.report"]
    assert [sorted(c) for c in circles(edges)] == []


# The shared kernel (chat.kernel) and the packages built on it never reach into the
# chat's top (the app, the endpoints, the hub and the live chat, the CLI).
def _outside_kernel(targets: set[str]) -> list[str]:
    return sorted(t for t in targets if t.startswith("chat") and t != "chat.kernel"
                  and not t.startswith("chat.kernel."))


def test_the_kernel_imports_only_the_kernel() -> None:
    edges = graph(ROOT, PACKAGES)
    kernel = {name: deps for name, deps in edges.items() if name == "chat.kernel" or name.startswith("chat.kernel.")}
    assert "chat.kernel.settings" in kernel and "chat.kernel.broker.redis" in kernel
    assert {name: sorted(d for d in deps if not d.startswith("chat.kernel")) for name, deps in kernel.items()
            if any(not d.startswith("chat.kernel") for d in deps)} == {}


def test_referral_and_volunteer_take_from_chat_only_its_kernel() -> None:
    edges = graph(ROOT, PACKAGES)
    reaching = {name: _outside_kernel(deps) for name, deps in edges.items()
                if name.split(".")[0] in ("referral", "volunteer") and _outside_kernel(deps)}
    assert reaching == {}


# Sizes that keep a module readable in one sitting (issue 17's bounds).
MAX_MODULE_LINES = 600
MAX_CLASS_LINES = 400


def test_no_module_or_class_is_too_long_to_read() -> None:
    too_long: list[str] = []
    for name, path in modules(ROOT, PACKAGES).items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    too_long.append(f"{name}.{node.name}: {size} lines")
    assert too_long == []


def test_the_check_finds_a_circle_through_an_import_inside_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("from .sub.b import thing\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def thing():\n    from .. import c\n    return c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from pkg import c\nfrom .sub import b\n")
    edges = graph(tmp_path, ("pkg",))
    assert edges["pkg.d"] == {"pkg.c", "pkg.sub.b"}
    assert circles(edges) == [frozenset({"pkg.a", "pkg.sub.b", "pkg.c"})]
    (pkg / "c.py").write_text("import json\n")
    assert circles(graph(tmp_path, ("pkg",))) == []
