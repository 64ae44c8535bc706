"""Auto-labeling: suggest a class for every row and promise a precision for the confident ones.

Three registered labelers share one contract (``AutoLabeler``: ``fit(data, y)`` -> ``proba_``):

- ``supervised``: learns from labeled rows; semi-supervised by default (kNN graph over all rows,
  zero-shot class-name prior, students on the spread labels); plain logistic regression otherwise;
- ``reference-set``: nearest labeled references by cosine, abstains below a similarity;
- ``zero-shot``: cosine to embedded class names or descriptions, no labels needed.

``plan_autolabel`` picks a labeler by cross-validation, fits it and calls ``estimate_threshold``,
which calibrates out of fold and returns the threshold, the expected precision and wrong labels
with an interval, and the precision-coverage curve. See docs/autolabel.md for the measurements.
"""

from core.autolabel import reference, supervised, zeroshot  # noqa: F401  (registration side effect)
from core.autolabel.base import (
    AUTOLABELERS,
    UNLABELED,
    AutoLabelData,
    AutoLabeler,
    AutoLabelResult,
    create_autolabeler,
    register_autolabeler,
)
from core.autolabel.plan import (
    AutoLabelPlan,
    WizardFit,
    class_texts,
    default_labelers,
    fit_for_wizard,
    plan_autolabel,
)
from core.autolabel.reference import ReferenceSetLabeler, promote
from core.autolabel.supervised import SupervisedLabeler
from core.autolabel.threshold import (
    PrecisionCurve,
    TemperaturePosterior,
    ThresholdEstimate,
    cross_val_proba,
    estimate_threshold,
    fit_temperature,
)
from core.autolabel.zeroshot import ZeroShotLabeler

__all__ = [
    "AUTOLABELERS",
    "UNLABELED",
    "AutoLabelData",
    "AutoLabelPlan",
    "AutoLabelResult",
    "AutoLabeler",
    "PrecisionCurve",
    "ReferenceSetLabeler",
    "SupervisedLabeler",
    "TemperaturePosterior",
    "ThresholdEstimate",
    "WizardFit",
    "ZeroShotLabeler",
    "class_texts",
    "create_autolabeler",
    "cross_val_proba",
    "default_labelers",
    "estimate_threshold",
    "fit_for_wizard",
    "fit_temperature",
    "plan_autolabel",
    "promote",
    "register_autolabeler",
]
