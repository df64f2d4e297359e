"""'Did you mean ...?' for names a user mistypes (commands, tasks, machine kinds and specs)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices`` to ``word``, or ``""`` when none
    is close enough: meant to follow the name in an error (``f"unknown task {name!r}{hint}; ..."``)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""
