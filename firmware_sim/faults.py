"""Line faults a simulator can inject: bytes dropped, bits flipped, garbage inserted."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class LineFaults:
    """Probabilities per byte (drop, flip) and per chunk (garbage), from a seeded generator so
    that a failing run can be repeated."""

    drop: float = 0.0
    flip: float = 0.0
    garbage: float = 0.0
    seed: int = 0
    rng: random.Random = field(init=False)
    dropped: int = 0
    flipped: int = 0
    inserted: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def active(self) -> bool:
        return bool(self.drop or self.flip or self.garbage)

    def apply(self, chunk: bytes) -> bytes:
        """The chunk as a faulty line would deliver it."""
        if not self.active:
            return chunk
        rng = self.rng
        out = bytearray()
        if self.garbage and rng.random() < self.garbage:
            junk = rng.randbytes(rng.randint(1, 16))
            out += junk
            self.inserted += len(junk)
        for byte in chunk:
            if self.drop and rng.random() < self.drop:
                self.dropped += 1
                continue
            if self.flip and rng.random() < self.flip:
                byte ^= 1 << rng.randrange(8)
                self.flipped += 1
            out.append(byte)
        return bytes(out)
