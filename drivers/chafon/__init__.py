"""Chafon UHFReader18 / CF-RU5102 protocol: handhelds and desk readers."""
