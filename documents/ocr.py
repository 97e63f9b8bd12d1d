"""OCR with Tesseract 5 through pytesseract: single-threaded Tesseract, pages in parallel.

Tesseract's own threads slow it down badly on small machines, so every Tesseract runs
with `OMP_THREAD_LIMIT=1` and parallelism is one worker process per core instead
(`ocr_pages`). A worker gets a job (a PDF page to rasterise with pypdfium2 at 300 dpi, or
an image file), writes the image to a temporary file Tesseract reads directly, and makes
one Tesseract call (`image_to_data`) that gives both the text and the word boxes; the
boxes are scaled from pixels to PDF points.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

import pypdfium2
import pytesseract
from PIL import Image

from documents.pdftext import OCR_DPI, OcrText, Word

CONFIG = "--psm 4"  # one column of text in lines of varying size: table rows stay whole (6 drops them)


class OcrError(Exception):
    """Tesseract could not read a page (not installed, crashed, unreadable image).

    `index` is the job's place in the list given to `ocr_pages`, when known."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message, index)
        self.message = message
        self.index = index

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class OcrJob:
    """One page to read: page `page` (0-based) of the PDF `data`, or the image file `data`."""

    data: bytes
    page: int | None = None
    languages: str = "deu+eng"
    dpi: int = OCR_DPI  # of the rendered page; for an image file, its own if it says


def tesseract_available() -> bool:
    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError):
        return False
    return True


def single_threaded() -> None:
    """Keep Tesseract (started from this process) to one thread."""
    os.environ["OMP_THREAD_LIMIT"] = "1"


def ocr_png(png: bytes, languages: str = "deu+eng") -> str:
    """The text of one image file (PNG, JPEG, TIFF), line by line."""
    return "\n".join(ocr_page(OcrJob(png, None, languages)).lines)


def ocr_page(job: OcrJob) -> OcrText:
    """Read one page in this process (one single-threaded Tesseract)."""
    single_threaded()
    try:
        with tempfile.TemporaryDirectory(prefix="o2c-ocr-") as folder:
            path, dpi, size = _image_file(job, folder)
            data = pytesseract.image_to_data(path, lang=job.languages, config=CONFIG,
                                             output_type=pytesseract.Output.DICT)
    except OcrError:
        raise
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrError("OCR is not available: Tesseract is not installed") from exc
    except Exception as exc:  # pytesseract, Pillow, pdfium and the OS raise many types
        raise OcrError(f"OCR failed ({' '.join(f'{type(exc).__name__}: {exc}'.split())[:200]})"
                       ) from exc
    text = ocr_text(data, 72 / dpi)
    return replace(text, width=round(size[0] * 72 / dpi, 2), height=round(size[1] * 72 / dpi, 2))


def ocr_pages(jobs: Sequence[OcrJob], workers: int | None = None) -> list[OcrText]:
    """Read several pages, one single-threaded Tesseract per worker process, one per core.
    An `OcrError` carries the index of the job that failed."""
    count = min(len(jobs), workers or cores())
    results: list[OcrText] = []
    if count <= 1 or multiprocessing.current_process().daemon:  # a daemon may have no children
        for index, job in enumerate(jobs):
            try:
                results.append(ocr_page(job))
            except OcrError as exc:
                raise OcrError(exc.message, index) from exc
        return results
    with ProcessPoolExecutor(max_workers=count, initializer=single_threaded) as pool:
        answers = pool.map(ocr_page, jobs)
        for index in range(len(jobs)):
            try:
                results.append(next(answers))
            except (OcrError, BrokenProcessPool) as exc:
                pool.shutdown(wait=False, cancel_futures=True)  # the document has failed
                message = exc.message if isinstance(exc, OcrError) else \
                    "OCR failed (a worker process died, perhaps out of memory)"
                raise OcrError(message, index) from exc
    return results


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ocr_text(data: dict[str, list[Any]], scale: float) -> OcrText:
    """Tesseract's TSV (as pytesseract's dict) → lines and words (boxes × `scale`)."""
    rows: dict[tuple[int, int, int], list[Word]] = {}
    for i, level in enumerate(data["level"]):
        if int(level) != 5:
            continue
        text = str(data["text"][i])
        parts = text.replace("|", " ").split()  # OCR reads table rules as bars: never content
        if not parts:
            continue
        left, top = float(data["left"][i]), float(data["top"][i])
        width, height = float(data["width"][i]), float(data["height"][i])
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        row = rows.setdefault(key, [])
        step = width / max(len(text), 1)
        at = 0
        for part in parts:
            start = text.index(part, at)
            at = start + len(part)
            row.append(Word(part, round((left + start * step) * scale, 2),
                            round(top * scale, 2), round((left + at * step) * scale, 2),
                            round((top + height) * scale, 2)))
    lines = tuple(" ".join(w.text for w in row) for row in rows.values())
    return OcrText(lines, tuple(w for row in rows.values() for w in row))


def _image_file(job: OcrJob, folder: str) -> tuple[str, float, tuple[int, int]]:
    """The page as a file Tesseract can read, its dots per inch and its size in pixels."""
    if job.page is None:
        path = os.path.join(folder, "page.img")
        with open(path, "wb") as out:
            out.write(job.data)
        with Image.open(path) as image:
            return path, _dpi(image.info.get("dpi"), job.dpi), image.size
    pdf = pypdfium2.PdfDocument(job.data)
    try:
        image = pdf[job.page].render(scale=job.dpi / 72, grayscale=True).to_pil()
        path = os.path.join(folder, "page.pgm")
        image.save(path)  # uncompressed: the fastest to write and for Tesseract to read
    finally:
        pdf.close()
    return path, job.dpi, image.size


def _dpi(dpi: Any, default: float) -> float:
    try:
        value = float(dpi[0]) if dpi else default
    except (TypeError, ValueError, IndexError):
        value = default
    return value if 50 <= value <= 2400 else default
