"""The agency registry and restructurings as data: who the plan assigns duties to, and how that changes.

A registry file lists every body named in the plan (code, Vietnamese name exactly as written, short name,
kind, contacts) and the two bodies the plan creates: the Steering Committee (II.4a: its head, standing
deputy and member agencies) and its Working Group. A reorganisation file lists renames, mergers and
retirements with their effective dates, each marked as established fact or as an assumption an operator
must confirm before applying it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from .model import EMAIL_PATTERN, Frozen, Label

AgencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_-]{0,31}$")]


class AgencyKind(StrEnum):
    PEOPLES_COMMITTEE = "peoples_committee"  # UBND tỉnh
    PEOPLES_COUNCIL = "peoples_council"  # HĐND tỉnh
    DEPARTMENT = "department"  # Sở
    DISTRICT = "district"  # UBND huyện, thành phố (abolished 1 July 2025)
    PRESS = "press"  # Đài, Báo
    CENTRAL_AGENCY = "central_agency"  # Cục Thuế tỉnh
    PROJECT_BOARD = "project_board"
    ASSOCIATION = "association"  # Liên hiệp các Hội
    ORGANISATIONS = "organisations"  # the province's S&T organisations, as one assignee
    COMMITTEE = "committee"  # Ban Chỉ đạo
    WORKING_GROUP = "working_group"  # Tổ công tác


class AgencyEntry(Frozen):
    code: AgencyCode
    name: Label
    short_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    kind: AgencyKind
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)] | None = None  # one address
    webhook_url: str | None = None


class SteeringCommittee(Frozen):
    code: AgencyCode
    head: Label  # "Lãnh đạo Ủy ban nhân dân tỉnh"
    standing_deputy: Label
    deputies: Label
    members: tuple[AgencyCode, ...] = Field(min_length=1)  # agencies whose leaders sit on it


class WorkingGroup(Frozen):
    code: AgencyCode
    lead: Label
    members: Label


class Registry(Frozen):
    province: Label
    agencies: tuple[AgencyEntry, ...] = Field(min_length=1)
    steering_committee: SteeringCommittee
    working_group: WorkingGroup

    @model_validator(mode="after")
    def _references(self) -> Registry:
        codes = [a.code for a in self.agencies]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"agency codes listed twice: {', '.join(twice)}")
        unknown = [m for m in self.steering_committee.members if m not in codes]
        if unknown:
            raise ValueError(f"steering committee members not in the registry: {', '.join(unknown)}")
        for group in (self.steering_committee.code, self.working_group.code):
            if group not in codes:
                raise ValueError(f"{group} must also be listed as an agency (it receives escalations)")
        return self


class ChangeKind(StrEnum):
    RENAME = "rename"
    MERGE = "merge"  # `code` is absorbed by `into`; its open tasks move there
    RETIRE = "retire"  # `code` ends; its open tasks move to `successor`
    SPLIT = "split"  # `code` ends; its functions go to several successors, named per plan section or duty


class Certainty(StrEnum):
    FACT = "fact"
    ASSUMPTION = "assumption"


class Change(Frozen):
    op: ChangeKind
    code: AgencyCode
    effective: dt.date
    certainty: Certainty
    note: Label
    name: Label | None = None  # rename: the new name
    short_name: str | None = None
    into: AgencyCode | None = None  # merge
    successor: AgencyCode | None = None  # retire
    # split: plan section (e.g. "II.1a") or definition id -> successor; "*" takes everything else
    successors: dict[str, AgencyCode] | None = None
    # how sure the hand-over of open tasks is, when it differs from the change itself (the districts ended on
    # 1/7/2025: a fact; which body takes their open tasks: an assumption)
    successor_certainty: Certainty | None = None
    document: str | None = None  # the deciding document (required when the change is applied)
    source: str | None = None  # where the fact comes from (law, decree, resolution)

    @model_validator(mode="after")
    def _fields_for_op(self) -> Change:
        if self.op is ChangeKind.RENAME and not self.name:
            raise ValueError("a rename needs the new name")
        if self.op is ChangeKind.MERGE and not self.into:
            raise ValueError("a merge needs `into`")
        if self.op is ChangeKind.RETIRE and not self.successor:
            raise ValueError("a retirement needs a `successor` for the open tasks")
        if self.op is ChangeKind.SPLIT and not (self.successors and "*" in self.successors):
            raise ValueError("a split needs `successors` with a \"*\" entry for everything not named")
        return self

    @property
    def target(self) -> str | None:
        """The successor of the agency as a whole (a split's "*")."""
        if self.op is ChangeKind.SPLIT:
            assert self.successors is not None
            return self.successors["*"]
        return self.into or self.successor

    @property
    def hand_over_certainty(self) -> Certainty:
        return self.successor_certainty or self.certainty


class Reorganisation(Frozen):
    title: Label
    changes: tuple[Change, ...] = Field(min_length=1)
