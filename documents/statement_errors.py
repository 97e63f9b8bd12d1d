"""The kind of statement problem that refuses a whole file.

A statement reader reports two kinds of problems, both as `Issue`: a `Malformed` one means
some part of the file could not be read as written (an entry, a balance or a field whose
content would be lost or guessed), so nothing of the file may be booked; any other issue
(a balance that does not add up, a missing opening balance) is reported beside what was
read. `malformed` picks the first kind out of a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.core.records import Issue


@dataclass(frozen=True)
class Malformed(Issue):
    """An issue that makes the file unbookable: `where` names the line or XML element."""


def malformed(issues: Iterable[Issue]) -> list[Issue]:
    """The issues that refuse the file as a whole (empty: the file may be booked)."""
    return [i for i in issues if isinstance(i, Malformed)]
