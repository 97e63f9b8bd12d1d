"""The store on SQLite and PostgreSQL: migrations equal the models, numbers are gapless,
intake keeps every original and resumes after a crash, the outbox sends once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal as D

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from engine.runtime import Runtime
from engine.services import intake, outbox
from engine.services.records import next_number
from engine.store.blobs import DatabaseBlobStore
from engine.store.models import Base, Customer, Document, DocumentArrival, OutboxMessage
from tests.test_extract import po


def test_migrations_match_the_models(runtime: Runtime) -> None:
    with runtime.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_money_is_numeric_and_exact(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as s:
        s.add(Customer(number="K-1", name="A", credit_limit=D("12345678.91")))
    with runtime.db.unit_of_work() as s:
        limit = s.scalar(select(Customer.credit_limit))
    assert limit == D("12345678.91") and isinstance(limit, D)


def test_numbers_are_gapless_under_concurrency(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as s:
        assert next_number(s, "RE", 2026) == "RE-2026-00001"

    def issue(_: int) -> str:
        with runtime.db.unit_of_work() as s:
            return next_number(s, "RE", 2026)

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(pool.map(issue, range(20)))
    assert numbers == [f"RE-2026-{n:05d}" for n in range(2, 22)]
    with runtime.db.unit_of_work() as s:
        assert next_number(s, "RE", 2027) == "RE-2027-00001"


def test_same_bytes_twice_is_one_document(runtime: Runtime) -> None:
    data = po("de")
    first = intake.receive(runtime, data, "../../etc/passwd\x00.pdf", "upload")
    second = intake.receive(runtime, data, "copy.pdf", "mail")
    assert first.document_id == second.document_id and first.new and not second.new
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(func.count(Document.id))) == 1
        assert s.scalar(select(func.count(DocumentArrival.id))) == 2
        doc = s.get(Document, first.document_id)
        assert doc is not None and doc.filename == "passwd.pdf" and doc.status == "received"
    assert runtime.blobs.get(doc.sha256) == data


def test_a_crash_mid_processing_resumes(runtime: Runtime) -> None:
    received = intake.receive(runtime, po("en"), "po.pdf", "upload")
    with runtime.db.unit_of_work() as s:  # as if the process died while reading
        doc = s.get(Document, received.document_id)
        assert doc is not None
        doc.status = "reading"
    assert intake.process_pending(runtime, date(2026, 9, 2)) == 1
    with runtime.db.unit_of_work() as s:
        doc = s.get(Document, received.document_id)
        assert doc is not None and doc.kind == "purchase_order"
        # the customer is unknown in an empty database: a person must look, nothing is lost
        assert doc.status == "needs_review" and "K-10001" in doc.reason


def test_bad_input_fails_with_a_reason_and_keeps_the_original(runtime: Runtime) -> None:
    received = intake.receive(runtime, b"%PDF-1.4 this is not really a pdf", "evil.pdf", "api")
    assert intake.process(runtime, received.document_id, date(2026, 9, 2)) == "failed"
    with runtime.db.unit_of_work() as s:
        doc = s.get(Document, received.document_id)
        assert doc is not None and doc.reason.startswith("evil.pdf: not a readable PDF")
        assert runtime.blobs.exists(doc.sha256)


def test_outbox_sends_each_message_once(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as s:
        outbox.enqueue(s, key="k-1", kind="test", recipient="a@example.com", subject="Hallo",
                       body="Text", attachments=[])
        outbox.enqueue(s, key="k-1", kind="test", recipient="a@example.com", subject="Hallo",
                       body="Text", attachments=[])
    assert outbox.deliver(runtime) == {"sent": 1, "failed": 0}
    assert outbox.deliver(runtime) == {"sent": 0, "failed": 0}
    files = list(runtime.outbox_dir.glob("*.eml"))
    assert [f.name for f in files] == ["k-1.eml"]
    assert b"Subject: Hallo" in files[0].read_bytes()
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(OutboxMessage.status)) == "sent"


def test_database_blob_store(runtime: Runtime) -> None:
    store = DatabaseBlobStore(runtime.db.sessions)
    digest = store.put(b"%PDF-1.7 original")
    assert store.put(b"%PDF-1.7 original") == digest  # the same bytes are stored once
    assert store.exists(digest) and store.get(digest) == b"%PDF-1.7 original"
    assert not store.exists("0" * 64)
