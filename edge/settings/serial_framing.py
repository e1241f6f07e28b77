"""How a serial device's characters are framed: 8 data bits, with the parity and stop bits the
device is set to (8N1 unless its entry says otherwise). Part of edge.settings.config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from drivers.serial_link import Parity

_PARITY_WORDS = {"NONE": "N", "EVEN": "E", "ODD": "O"}


class SerialFraming(BaseModel):
    """`parity` and `stopbits` of an entry on a serial line; left out, 8N1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parity: Parity | None = None
    stopbits: Literal[1, 2] | None = None

    @field_validator("parity", mode="before")
    @classmethod
    def _parity_word(cls, value: object) -> object:
        """ "even", "E" and "e" are one setting."""
        if isinstance(value, str):
            return _PARITY_WORDS.get(value.strip().upper(), value.strip().upper())
        return value

    @property
    def line_parity(self) -> Parity:
        return self.parity or "N"

    @property
    def line_stopbits(self) -> int:
        return self.stopbits or 1

    def framing_unused(self, where: str) -> str | None:
        """The problem, naming the keys, when the entry sets parity or stopbits on a link that
        has no serial framing (`where`: what it does apply to)."""
        keys = [key for key in ("parity", "stopbits") if getattr(self, key) is not None]
        if not keys:
            return None
        verb, pronoun = ("applies", "it") if len(keys) == 1 else ("apply", "them")
        return f"{' and '.join(keys)} {verb} to {where} only; remove {pronoun}"
