"""PC/SC card readers (desk NFC readers, pharmacist badges) through pyscard."""
