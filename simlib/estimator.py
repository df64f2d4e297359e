"""scikit-learn's estimator protocol, without importing scikit-learn.

:class:`Estimator` gives a class whose constructor stores its keyword arguments unchanged what
:class:`sklearn.base.BaseEstimator` gives it: ``get_params``, ``set_params``, a repr of the
non-default settings, and the tags scikit-learn asks for, so ``sklearn.base.clone``
and scikit-learn's estimator checks treat it as one of theirs. It does not import
scikit-learn, whose import costs about a second (it loads ``scipy.stats``), a third of the
start-up of every ``simlib compare``; scikit-learn is imported only when scikit-learn
itself asks for the tags. :func:`clone` is ``sklearn.base.clone`` for these estimators.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, TypeVar

from simlib.errors import SimlibError

E = TypeVar("E", bound="Estimator")


class Estimator:
    """Base class: every constructor argument is a parameter stored under its own name."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return sorted(name for name, p in signature.parameters.items() if name != "self" and p.kind not in kinds)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments by name (no parameter is itself an estimator, so ``deep``
        adds nothing)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: E, **params: Any) -> E:
        """Set parameters by name; an unknown name raises :class:`~simlib.errors.SimlibError`
        (a ValueError, as scikit-learn's)."""
        valid = self._param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise SimlibError(f"unknown {type(self).__name__} parameters {unknown}; use {valid}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        params = self.get_params(deep=False).items()
        changed = [f"{name}={value!r}" for name, value in params if not _same(value, defaults[name].default)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        """scikit-learn's default tags for an estimator that is neither a classifier, a regressor
        nor a transformer (imported here: only scikit-learn asks)."""
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False), input_tags=InputTags())


def clone(estimator: E) -> E:
    """A new, unfitted estimator with deep copies of ``estimator``'s parameters (what
    ``sklearn.base.clone`` makes of it)."""
    params = {name: copy.deepcopy(value) for name, value in estimator.get_params(deep=False).items()}
    return type(estimator)(**params)


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value is default or value == default)
    except (ValueError, TypeError, RuntimeError):  # an array-like parameter: == is elementwise
        return False
