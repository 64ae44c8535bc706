"""What a label schema is made of: a question (its kind, classes and the parent answer it depends on),
the schema holding a dataset's questions, its versions, and what a schema change returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import InputError, NotFoundError
from core.labelschema.values import SEPARATOR, parse_multi
from core.store import DEFAULT_LABEL_FIELD


class Kind(StrEnum):
    SINGLE = "single"  # one class per row (multi-class)
    MULTI = "multi"  # any number of classes per row (multi-label)


@dataclass(frozen=True)
class Question:
    name: str
    kind: Kind
    classes: tuple[str, ...]
    required: bool = False
    parent: tuple[str, str] | None = None  # (question, answer): asked only when that answer is chosen
    description: str = ""
    position: int = 0

    @property
    def hierarchical(self) -> bool:
        return any(SEPARATOR in c for c in self.classes)

    @property
    def nodes(self) -> list[str]:
        """The classes and every ancestor they imply ("Shoes" for "Shoes > Trail"), parents first."""
        out: dict[str, None] = {}
        for c in self.classes:
            parts = c.split(SEPARATOR)
            for depth in range(1, len(parts) + 1):
                out[SEPARATOR.join(parts[:depth])] = None
        return list(out)

    def spec(self) -> dict[str, Any]:
        """What the history stores (and undo restores) for this question."""
        return {
            "kind": str(self.kind),
            "classes": list(self.classes),
            "required": self.required,
            "parent": list(self.parent) if self.parent else None,
            "description": self.description,
            "position": self.position,
        }

    @classmethod
    def from_spec(cls, name: str, spec: dict[str, Any]) -> Question:
        parent = spec.get("parent")
        return cls(
            name=name,
            kind=Kind(spec.get("kind", Kind.SINGLE)),
            classes=tuple(spec.get("classes", [])),
            required=bool(spec.get("required", name == DEFAULT_LABEL_FIELD)),
            parent=(parent[0], parent[1]) if parent else None,
            description=spec.get("description", ""),
            position=int(spec.get("position", 0)),
        )

    def applies(self, answers: dict[str, Any]) -> bool:
        """Whether a row with these answers (question -> value or list) is asked this question."""
        if self.parent is None:
            return True
        value = answers.get(self.parent[0])
        chosen = value if isinstance(value, list) else [value]
        return self.parent[1] in chosen

    def check_value(self, value: str | list[str] | None) -> str | list[str] | None:
        """A value this question can hold (multi: a sorted list without repeats); raises InputError."""
        if value is None:
            return None
        if self.kind is Kind.MULTI:
            values = parse_multi(value) if isinstance(value, str) else [str(v).strip() for v in value]
            values = sorted({v for v in values if v})
            return values or None
        if not isinstance(value, str):
            raise InputError(f"'{self.name}' takes one class, not a list.")
        return value.strip() or None


@dataclass(frozen=True)
class LabelSchema:
    dataset_id: int
    version: int
    questions: tuple[Question, ...]

    def question(self, name: str) -> Question:
        for q in self.questions:
            if q.name == name:
                return q
        raise NotFoundError(f"No question '{name}' in this dataset's label schema.")

    @property
    def names(self) -> list[str]:
        return [q.name for q in self.questions]

    def to_dict(self) -> dict[str, Any]:
        """For export manifests: the version and every question."""
        return {"version": self.version, "questions": {q.name: q.spec() for q in self.questions}}


@dataclass(frozen=True)
class SchemaVersion:
    version: int
    batch_id: str | None  # None: the schema the upload created
    description: str
    created_at: str
    undone: bool


@dataclass(frozen=True)
class Migration:
    batch_id: str
    rows_changed: int
    version: int
