"""``folded(expr)``: a column or expression without accents or tone marks, lower case ("Góp ý" → "gop y"), so a
search finds "gop y" in it. SQLite calls the Python function ``wf_fold`` (``definitions.vietnamese.fold``,
registered on every connection by ``store.database``); PostgreSQL spells it with ``translate`` over the precomposed
Vietnamese letters (no extension needed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from definitions.vietnamese import ACCENTED, PLAIN


class folded(FunctionElement[str]):
    name = "wf_fold"
    type = String()
    inherit_cache = True


@compiles(folded)
def _sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"wf_fold({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _postgresql(element: folded, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses.clauses
    return str(compiler.process(func.translate(func.lower(arg), literal(ACCENTED), literal(PLAIN)), **kw))
