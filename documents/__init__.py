"""Everything about files: reading (sniff, PDF text, OCR, XML), extraction, writing."""
