"""Who stands for an agency on a date: the agency while it exists, its successor once merged, nobody once retired.

Used wherever a duty is newly assigned (a schedule's occurrence, a consultation's round), so that no new duty
goes to a body that no longer existed on the day it takes effect.
"""

from __future__ import annotations

import datetime as dt
import difflib

from .ports import UnitOfWork


def resolve_on(uow: UnitOfWork, code: str, day: dt.date, depth: int = 0) -> tuple[str | None, str | None]:
    """Who owes a recurring duty of ``code`` on ``day``: the agency itself while it exists, its successor if it
    was merged by then, nobody if it was retired (a successor takes a retired agency's open tasks, not its
    future duties). The second value says why, when it is not the agency itself."""
    agency = uow.agency(code)
    if agency is None:  # with no registry loaded at all (embedded use), codes are taken as they are
        codes = uow.agency_codes()
        if not codes:
            return code, None
        close = difflib.get_close_matches(code, codes, n=1, cutoff=0.6)
        return None, f"{code} is not in the registry" + (f" (did you mean {close[0]}?)" if close else "")
    if agency.name_on(day.isoformat()) is not None:
        return code, None
    if agency.status == "merged" and agency.successor and depth < 10:
        successor, why = resolve_on(uow, agency.successor, day, depth + 1)
        return successor, f"{code} was merged into {agency.successor}" + (f"; {why}" if why else "")
    return None, f"{code} no longer existed on {day:%d/%m/%Y} ({agency.status}): no successor for new duties"
