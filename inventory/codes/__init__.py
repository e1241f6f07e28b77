"""What the codes on packs and shelves say: EPC tags (SGTIN, SGLN) and GS1 barcodes."""
