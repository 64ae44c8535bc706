"""Change a label schema: add or edit a question, rename, merge or split classes. Each change is one
undoable batch, and the labels and suggestions it migrates are ordinary label events in that batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from core.labelschema.questions import Kind, Migration, Question
from core.labelschema.reading import label_schema, schema_version
from core.labelschema.values import SEPARATOR
from core.review import NEEDS_REVIEW
from core.workspace import Workspace

MAX_QUESTIONS = 20


def add_question(
    ws: Workspace,
    dataset_id: int,
    name: str,
    *,
    kind: Kind | str = Kind.SINGLE,
    classes: Sequence[str] = (),
    required: bool = False,
    parent: tuple[str, str] | None = None,
    description: str = "",
) -> Migration:
    name = name.strip()
    schema = label_schema(ws.store, dataset_id)
    if any(c in name for c in ":[]"):
        raise InputError("A question's name cannot contain ':', '[' or ']'.")
    if not name:
        raise InputError("The question needs a name.")
    taken = _same_name(name, schema.names)
    if taken is not None:  # "Tone" beside "tone" would be two questions the export writes as two columns
        raise ConflictError(f"There is already a question named '{taken}'.")
    if len(schema.questions) >= MAX_QUESTIONS:
        raise InputError(f"A schema holds at most {MAX_QUESTIONS} questions.")
    classes = _clean_classes(classes)
    if Kind(kind) is Kind.SINGLE and len(classes) == 1:  # every answer would be that class
        raise InputError(
            "A single-choice question needs at least two classes (or none yet, to add under Edit question);"
            " for a yes/no tag, make it multi-choice."
        )
    if parent is not None and parent[1] not in schema.question(parent[0]).classes:
        raise InputError(f"'{parent[1]}' is not a class of '{parent[0]}'.")
    question = Question(
        name,
        Kind(kind),
        tuple(classes),
        required=required,
        parent=parent,
        description=description.strip(),
        position=max((q.position for q in schema.questions), default=0) + 1,
    )
    with ws.batch(dataset_id, action="schema", description=f"Add question '{name}' ({Kind(kind)}-choice)") as b:
        b.set_question(name, question.spec())
    return Migration(b.id, 0, schema.version + 1)


def update_question(
    ws: Workspace,
    dataset_id: int,
    name: str,
    *,
    required: bool | None = None,
    description: str | None = None,
    add_classes: Sequence[str] = (),
) -> Migration | None:
    """Change a question's settings or add classes (no label changes); None when nothing changed."""
    q = label_schema(ws.store, dataset_id).question(name)
    spec = q.spec()
    if required is not None:
        spec["required"] = required
    if description is not None:
        spec["description"] = description.strip()
    spec["classes"] = list(q.classes) + [c for c in _clean_classes(add_classes) if _same_name(c, q.classes) is None]
    if spec == q.spec():
        return None
    with ws.batch(dataset_id, action="schema", description=f"Edit question '{name}'") as b:
        b.set_question(name, spec)
    return Migration(b.id, 0, schema_version(ws.store, dataset_id))


def rename_class(ws: Workspace, dataset_id: int, question: str, old: str, new: str) -> Migration:
    """Rename a class or a parent in the hierarchy (with its descendants); its rows follow."""
    new = new.strip()
    q = label_schema(ws.store, dataset_id).question(question)
    if old not in q.nodes:
        raise NotFoundError(f"'{old}' is not a class of '{question}'.")
    if not new:
        raise InputError("The new name is empty.")
    # A class differing only in case counts as taken ("Positive" beside "positive"), but a class may change
    # its own case.
    taken = new if new in q.nodes else _same_name(new, [n for n in q.nodes if n != old])
    if taken is not None:
        raise ConflictError(f"'{taken}' is already a class of '{question}': merge the two instead.")
    renamed = {c: new + c[len(old) :] for c in q.classes if c == old or c.startswith(old + SEPARATOR)}
    return _migrate(ws, dataset_id, q, renamed, f"Rename '{old}' to '{new}' in '{question}'")


def merge_classes(ws: Workspace, dataset_id: int, question: str, sources: Sequence[str], into: str) -> Migration:
    """Every row of the ``sources`` classes takes ``into`` (an existing or a new class)."""
    into = into.strip()
    q = label_schema(ws.store, dataset_id).question(question)
    sources = [s for s in dict.fromkeys(sources) if s != into]
    if not into:
        raise InputError("Name the class to merge into.")
    if not sources:
        raise InputError("Choose at least one class to merge.")
    for s in sources:
        _known_class(ws, dataset_id, question, s)
    taken = _same_name(into, [c for c in q.classes if c not in sources])
    if into not in q.classes and taken is not None:  # "Sport" would be a new class beside "sport"
        raise ConflictError(f"'{taken}' is already a class of '{question}': merge into '{taken}' as it is spelled.")
    names = ", ".join(f"'{s}'" for s in sources)
    return _migrate(ws, dataset_id, q, dict.fromkeys(sources, into), f"Merge {names} into '{into}' in '{question}'")


def split_class(
    ws: Workspace,
    dataset_id: int,
    question: str,
    old: str,
    parts: Sequence[str],
    *,
    rows_go_to: str | None = None,
    mark_for_review: bool = True,
) -> Migration:
    """Replace a class with several. Its rows cannot be sorted without a person or a model, so they go to
    ``rows_go_to`` (default: the first part) and are tagged needs-review, for the review queue and the
    wizard to sort out (a decision recorded in docs/decisions.md)."""
    q = _known_class(ws, dataset_id, question, old)
    parts = [p for p in dict.fromkeys(_clean_classes(parts))]
    if len(parts) < 2:
        raise InputError("A split needs at least two new classes.")
    others = [c for c in q.classes if c != old]
    clash = [taken for p in parts if (taken := _same_name(p, others)) is not None]
    if clash:
        names = ", ".join(f"'{c}'" for c in clash)
        verb, them = ("is already a class", "it") if len(clash) == 1 else ("are already classes", "them")
        raise ConflictError(f"{names} {verb} of '{question}': merge into {them} instead.")
    target = rows_go_to or parts[0]
    if target not in parts:
        raise InputError(f"'{target}' is not one of the new classes.")
    return _migrate(
        ws,
        dataset_id,
        q,
        {old: target},
        f"Split '{old}' into {', '.join(repr(p) for p in parts)} in '{question}'",
        extra_classes=parts,
        review_tag=mark_for_review,
    )


def _known_class(ws: Workspace, dataset_id: int, question: str, name: str) -> Question:
    q = label_schema(ws.store, dataset_id).question(question)
    if name not in q.classes:
        raise NotFoundError(f"'{name}' is not a class of '{question}'.")
    return q


def _same_name(name: str, names: Iterable[str]) -> str | None:
    """The one of ``names`` equal to ``name`` ignoring case, if any."""
    return next((n for n in names if n.casefold() == name.casefold()), None)


def _clean_classes(classes: Iterable[str]) -> list[str]:
    """Class names stripped, without repeats (ignoring case: the first spelling is kept)."""
    out: list[str] = []
    for c in classes:
        c = SEPARATOR.join(part.strip() for part in str(c).split(">")).strip()
        if c and _same_name(c, out) is None:
            out.append(c)
    return out


def _migrate(
    ws: Workspace,
    dataset_id: int,
    q: Question,
    mapping: dict[str, str],
    description: str,
    *,
    extra_classes: Sequence[str] = (),
    review_tag: bool = False,
) -> Migration:
    """One batch: the question's new class list, then every label and suggestion mapped."""

    def change(value: Any) -> Any:
        if isinstance(value, list):
            return sorted({mapping.get(v, v) for v in value})
        return mapping.get(value, value)

    classes: list[str] = []
    for c in q.classes:
        if c in mapping:
            c = mapping[c]
            if c not in extra_classes:
                classes.append(c)
            continue
        classes.append(c)
    for c in extra_classes:
        classes.append(c)
    spec = {**q.spec(), "classes": list(dict.fromkeys(classes))}
    # Sub-questions asked when a renamed or merged class is chosen follow the new name.
    children = [
        (c.name, {**c.spec(), "parent": [q.name, mapping[c.parent[1]]]})
        for c in label_schema(ws.store, dataset_id).questions
        if c.parent and c.parent[0] == q.name and c.parent[1] in mapping
    ]
    # Each class taken out went to its new name, its merge target or (a split) all of the parts.
    moved = {c: list(extra_classes) or [t] for c, t in mapping.items() if c not in spec["classes"]}
    with ws.batch(dataset_id, action="schema", description=description) as b:
        b.set_question(q.name, spec, moved=moved)
        for name, child in children:
            b.set_question(name, child)
        changed = b.map_labels(q.name, change)
        if review_tag and changed:
            b.set_tag(changed, NEEDS_REVIEW)
    return Migration(b.id, len(changed), schema_version(ws.store, dataset_id))
