"""A dataset's label schema: the classification questions asked of every row, and its versions.

A question is single-choice (one class per row) or multi-choice (a list of classes per row), required
or optional, and may apply only when a parent question has a given answer (a sub-question). Class
names may be hierarchical, ``"Shoes > Running > Red"``: the parent of a class is its name up to the
last separator, and metrics roll up to any depth (:func:`roll_up`).

The first question, ``label``, comes from the upload's label column. Every schema change (a new
question, renamed / merged / split classes) is one undoable batch in the history: the question's
definition is recorded like a row attribute, and the labels it migrates are ordinary label events in
the same batch, so undo restores both together, in any order (core.history.revert_question). The
schema's version is 1 plus the number of batches that changed it (undo included); exports name the
version they follow.

The package: ``questions`` (the question, the schema and its versions), ``reading`` (the schema
and its answer counts read from the store), ``changes`` (each schema change as one batch) and
``values`` (multi-choice cells and hierarchical class names). Import from ``core.labelschema``.
"""

from core.labelschema.changes import (
    MAX_QUESTIONS,
    add_question,
    merge_classes,
    rename_class,
    split_class,
    update_question,
)
from core.labelschema.questions import Kind, LabelSchema, Migration, Question, SchemaVersion
from core.labelschema.reading import (
    QuestionStatus,
    answer_counts,
    asked_rows,
    label_schema,
    question_status,
    schema_version,
    schema_versions,
)
from core.labelschema.values import (
    MULTI_SEPARATOR,
    SEPARATOR,
    at_depth,
    looks_multi,
    parent_of,
    parse_multi,
    roll_up,
    roll_up_accuracy,
)

__all__ = [
    "MAX_QUESTIONS",
    "MULTI_SEPARATOR",
    "SEPARATOR",
    "Kind",
    "LabelSchema",
    "Migration",
    "Question",
    "QuestionStatus",
    "SchemaVersion",
    "add_question",
    "answer_counts",
    "asked_rows",
    "at_depth",
    "label_schema",
    "looks_multi",
    "merge_classes",
    "parent_of",
    "parse_multi",
    "question_status",
    "rename_class",
    "roll_up",
    "roll_up_accuracy",
    "schema_version",
    "schema_versions",
    "split_class",
    "update_question",
]
