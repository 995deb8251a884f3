"""The shape of ``service/``: the CLI, the API and the pages are adapters over the application layer
(``service/app``); none imports another, the application layer imports no front end's framework, and the API's
routes reach the engine and the store only through the application layer."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"


def front_end(path: Path) -> str | None:
    rel = path.relative_to(SERVICE)
    if rel.parts[0] in ("api", "web", "app"):
        return rel.parts[0]
    if rel.name.startswith("cli"):
        return "cli"
    return None


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
    if parts[1] in ("api", "web", "app"):
        return parts[1]
    return "cli" if parts[1].startswith("cli") else None


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
    sample = SERVICE / "web" / "__init__.py"
    assert "service.http" in imports(sample)
    assert group_of("service.api.routes") == "api"
    assert group_of("service.cli_common") == "cli"


# the pages being split into families (issue 27): these two still reach the store; every other page module must not
PAGES_NOT_YET_SPLIT = {"__init__.py", "base.py"}


def test_page_families_reach_engine_and_store_only_through_the_application_layer() -> None:
    touched = []
    for path in sorted((SERVICE / "web").glob("*.py")):
        if path.name in PAGES_NOT_YET_SPLIT:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        touched += [f"{path.name} line {n.lineno}: .{n.attr}" for n in ast.walk(tree)
                    if isinstance(n, ast.Attribute) and n.attr in ("store", "engine", "sql_engine", "clock")]
        touched += [f"{path.name}: app_of" for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "app_of"]
    assert not touched, touched
    assert (SERVICE / "web" / "plan_import.py").exists()  # the fence has something to fence
