"""The page's Find reads a pack's code in every form a person may paste it: the element string,
the human-readable form printed under the code, and a GS1 Digital Link."""

from __future__ import annotations

import pytest

from edge.web.views.find import Understood, understand

GTIN = "09506000134352"
NAMES = {GTIN: "Amoxicillin 500 mg"}


@pytest.mark.parametrize(
    "pasted",
    [
        f"]d201{GTIN}17261231" + "10ABC123|21XYZ9",
        f"(01){GTIN}(17)261231(10)ABC123(21)XYZ9",
        f"(01) {GTIN} (17) 261231 (10) ABC123",
        f"https://id.gs1.org/01/{GTIN}/10/ABC123/21/XYZ9?17=261231",
        f"HTTPS://ID.GS1.ORG/01/{GTIN}/10/ABC123",
    ],
)
def test_a_pasted_code_finds_its_drug_and_batch(pasted: str) -> None:
    assert understand(pasted, NAMES) == Understood([GTIN], "ABC123")


def test_a_pasted_code_that_is_wrong_is_named_as_such() -> None:
    problem = understand(f"(01){GTIN[:-1]}3(10)ABC", NAMES).problem
    assert "check digit" in problem
    leaflet = understand("https://www.pharma.example/leaflet/2024/01/17", NAMES).problem
    assert "not GS1" in leaflet
