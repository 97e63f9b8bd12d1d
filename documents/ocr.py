"""OCR with Tesseract 5 through pytesseract, single-threaded (OMP_THREAD_LIMIT=1).

Tesseract's own threads slow it down on small machines; parallelism is one process
per page instead (see `ocr_pages`).
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ProcessPoolExecutor

import pytesseract
from PIL import Image


def tesseract_available() -> bool:
    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError):
        return False
    return True


def ocr_png(png: bytes, languages: str = "deu+eng") -> str:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    with Image.open(io.BytesIO(png)) as image:
        return str(pytesseract.image_to_string(image, lang=languages, config="--psm 6"))


def ocr_pages(pngs: list[bytes], languages: str = "deu+eng", workers: int | None = None) -> list[str]:
    """OCR several page images, one process per core."""
    if len(pngs) <= 1:
        return [ocr_png(p, languages) for p in pngs]
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return list(pool.map(ocr_png, pngs, [languages] * len(pngs)))
