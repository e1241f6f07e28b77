"""Entries that must each be given once: a product by its GTIN, a pharmacist's badge. Part of
edge.settings.config."""

from __future__ import annotations

from collections.abc import Sequence

PRODUCT_ONCE = (
    "one GTIN is one product, however many digits it is written with (8, 12, 13 or 14: leading "
    "zeros do not count); give each product one entry"
)
BADGE_ONCE = "a badge names one pharmacist; give each pharmacist their own"


def repeated_problems(key: str, field: str, values: Sequence[str], once: str) -> list[str]:
    """A problem for each entry of the list `key` whose `field` (its value in `values`, in the
    list's order) an earlier entry already has, naming both entries; `once` says why that
    cannot be and what to do."""
    first: dict[str, int] = {}
    problems = []
    for i, value in enumerate(values):
        if value in first:
            problems.append(
                f"{key}[{i}].{field}: {value} is already {key}[{first[value]}]'s {field}; {once}"
            )
        else:
            first[value] = i
    return problems
