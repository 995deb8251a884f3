"""The shape of ``service/``: the CLI, the API and the pages are adapters over the application layer
(``service/app``); none imports another, the application layer imports no front end's framework, and the API's
routes reach the engine and the store only through the application layer."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"


def front_end(path: Path) -> str | None:
    rel = path.relative_to(SERVICE)
    return rel.parts[0] if rel.parts[0] in ("api", "web", "app", "cli") else None


def imports(path: Path) -> set[str]:
    """Every module a file imports, resolved to ``service.x.y`` for relative imports."""
    package = ["service", *path.relative_to(SERVICE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
    return found


def group_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "service" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ("api", "web", "app", "cli") else None


def test_front_ends_do_not_import_each_other() -> None:
    wrong = []
    for path in SERVICE.rglob("*.py"):
        mine = front_end(path)
        if mine is None:
            continue
        for module in imports(path):
            other = group_of(module)
            if other is not None and other != mine and other != "app":
                wrong.append(f"{path.relative_to(SERVICE)} ({mine}) imports {module}")
    assert not wrong, wrong


def test_the_application_layer_knows_no_front_end() -> None:
    wrong = [f"{path.name}: {m}" for path in (SERVICE / "app").glob("*.py") for m in imports(path)
             if m.split(".")[0] in ("fastapi", "starlette", "typer", "jinja2", "uvicorn") or group_of(m) not in
             (None, "app")]
    assert not wrong, wrong


def test_api_routes_reach_engine_and_store_only_through_the_application_layer() -> None:
    tree = ast.parse((SERVICE / "api" / "routes.py").read_text(encoding="utf-8"))
    touched = sorted({f"line {n.lineno}: .{n.attr}" for n in ast.walk(tree)
                      if isinstance(n, ast.Attribute) and n.attr in ("store", "engine", "sql_engine", "clock")})
    assert not touched, touched
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "app_of" not in names
    assert "uses" in names


def test_the_checks_see_a_violation() -> None:
    """The walk resolves relative imports: a web module importing the API would be caught."""
    sample = SERVICE / "web" / "task.py"
    assert "service.http" in imports(sample)
    assert group_of("service.api.routes") == "api"
    assert group_of("service.cli.common") == "cli"


PAGE_LINES = 300  # a page family that grows past this is two families


def test_page_families_reach_engine_and_store_only_through_the_application_layer() -> None:
    """Every module of ``service/web`` (the families, sessions, labels, forms): no ``.store``, ``.engine``,
    ``.sql_engine`` or ``.clock``, no ``app_of``; the package's ``__init__`` is only the assembly of the routers."""
    touched = []
    for path in sorted((SERVICE / "web").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        touched += [f"{path.name} line {n.lineno}: .{n.attr}" for n in ast.walk(tree)
                    if isinstance(n, ast.Attribute) and n.attr in ("store", "engine", "sql_engine", "clock")]
        touched += [f"{path.name}: app_of" for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "app_of"]
    assert not touched, touched
    assembly = ast.parse((SERVICE / "web" / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in assembly.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_page_module_is_over_300_lines() -> None:
    """The message catalogue (``i18n.py``) is data, not a page family."""
    long = {p.name: n for p in (SERVICE / "web").glob("*.py") if p.name != "i18n.py"
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > PAGE_LINES}
    assert not long, long


ROOT = SERVICE.parent
PACKAGES = ("definitions", "workflow", "store", "scheduler", "service")


def import_graph() -> dict[str, set[str]]:
    """Every module of our packages and the modules of ours it imports: at the top, inside a function (lazy) or
    under ``TYPE_CHECKING`` alike (an import of a package's name resolves to the module that defines it)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(filter(None, (known(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                for a in node.names:  # `from pkg import module` imports that module; `from m import name` m
                    target = known(f"{source}.{a.name}") if f"{source}.{a.name}" in modules else known(source)
                    if target:
                        found.add(target)
        graph[module] = found - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_of_any_kind() -> None:
    """No module of ours imports, however late or only for types, one that imports it back (issue 27)."""
    assert not cycles(import_graph())


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = import_graph()
    assert "store.connections" in graph["store.system_log"]  # relative imports are resolved
    assert "workflow.ports" in graph["workflow.audit"]
    assert cycles({**graph, "workflow.ports": graph["workflow.ports"] | {"workflow.audit"}}) == [
        ["workflow.audit", "workflow.ports"]]
