"""Suggestions ("did you mean") for names a person misspelled.

    >>> did_you_mean("kwh", ["kWh", "Wh", "kW"])
    'did you mean "kWh"?'
"""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice nearest to `word`: an exact case-insensitive match first, then by similarity."""
    import difflib  # (only a misspelling needs it: a clean collection never does)

    options = list(dict.fromkeys(choices))
    folded = [c for c in options if c.casefold() == word.casefold()]
    if folded:
        return folded[0]
    matches = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    # Case mistakes and typos together ("kwH" for "kWh"): compare case-folded spellings.
    by_fold = {c.casefold(): c for c in options}
    matches = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=cutoff)
    return by_fold[matches[0]] if matches else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """A hint like ``did you mean "kWh"?``, or None when nothing is close."""
    best = closest(word, choices, cutoff)
    return f'did you mean "{best}"?' if best is not None else None
