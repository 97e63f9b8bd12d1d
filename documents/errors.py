"""The one error type the document readers let escape: `ReadError`.

A reader that cannot make anything of a file (not well-formed XML, XML with a DOCTYPE,
an encrypted or broken PDF, an image Tesseract cannot open) raises `ReadError` with the
place and the reason; problems it can live with are returned as `Issue`s instead.
Third-party exceptions (lxml, pdfium, Pillow, Tesseract) are turned into `ReadError` at
the boundary where they arise, so callers catch exactly one type.
"""

from __future__ import annotations

from engine.core.records import Issue


class ReadError(Exception):
    """A file cannot be read at all. `where` names the file (and place), `reason` says why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason

    @property
    def issue(self) -> Issue:
        return Issue(self.where, self.reason)
