"""What changed between two versions of an article's text, line by line (difflib).

Plain data for templates, which escape it: an article's text is never marked safe here."""

import difflib
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

FIELDS = [("title", _("title")), ("summary", _("summary")), ("keywords", _("keywords")),
          ("body", _("body"))]  # fmt: skip


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "context" or "skip" (a gap between changes)
    text: str

    @property
    def sign(self) -> str:
        return {"added": "+", "removed": "-", "skip": "…"}.get(self.kind, " ")


@dataclass(frozen=True)
class FieldDiff:
    label: str
    lines: list[DiffLine]

    @property
    def added(self) -> int:
        return sum(line.kind == "added" for line in self.lines)

    @property
    def removed(self) -> int:
        return sum(line.kind == "removed" for line in self.lines)


def _lines(text: str) -> list[str]:
    return (text or "").replace("\r\n", "\n").split("\n")


def field_diff(old: str, new: str, *, context: int = 2) -> list[DiffLine]:
    lines: list[DiffLine] = []
    for line in difflib.unified_diff(_lines(old), _lines(new), lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            if lines:
                lines.append(DiffLine("skip", ""))
        elif line.startswith("+"):
            lines.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("removed", line[1:]))
        else:
            lines.append(DiffLine("context", line[1:]))
    return lines


def text_diff(old, new) -> list[FieldDiff]:
    """The fields that differ between two versions (an article or a revision; ``old`` may be
    None: everything is new)."""
    diffs = []
    for name, label in FIELDS:
        before = getattr(old, name, "") if old is not None else ""
        lines = field_diff(before, getattr(new, name, ""))
        if lines:
            diffs.append(FieldDiff(str(label), lines))
    return diffs
