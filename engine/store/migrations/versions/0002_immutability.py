"""GoBD immutability: database triggers refuse changing or deleting issued documents

An issued invoice keeps its number, money, dates, parties and file hashes for good; only
the cached `status` may change, and `decision_id` may be set once (from NULL). Invoice
lines, credit notes, credit note lines and archive entries never change. None of these
rows may be deleted (nor, on PostgreSQL, truncated). The ORM listeners in
engine/store/immutability.py refuse the same earlier with a clearer message; these
triggers also hold for raw SQL and other programs.

Note for later migrations: on SQLite, `batch_alter_table` on one of these tables recreates
the table and drops its triggers; such a migration must create them again.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration describes the schema as of its revision.
INVOICE_FIXED = ("id", "number", "customer_id", "order_id", "issue_date", "delivery_date",
                 "due_date", "payment_reference", "cash_discount_percent",
                 "cash_discount_days", "pdf_sha256", "xml_sha256", "created_at", "currency",
                 "net_amount", "tax_amount", "gross_amount")
NEVER_UPDATED = ("invoice_lines", "credit_notes", "credit_note_lines", "archive")
NEVER_DELETED = ("invoices", *NEVER_UPDATED)
MESSAGE = "GoBD: issued documents and the archive never change; correct by credit note"


def _pg_upgrade() -> None:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in INVOICE_FIXED)
    op.execute(f"""
        CREATE FUNCTION gobd_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END $$""")
    op.execute(f"""
        CREATE FUNCTION gobd_invoice_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {changed}
               OR (OLD.decision_id IS NOT NULL
                   AND NEW.decision_id IS DISTINCT FROM OLD.decision_id) THEN
                RAISE EXCEPTION
                    'GoBD: invoice % is issued and never changes; correct it by credit note',
                    OLD.number USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER gobd_invoices_update BEFORE UPDATE ON invoices "
               "FOR EACH ROW EXECUTE FUNCTION gobd_invoice_update()")
    for table in NEVER_UPDATED:
        op.execute(f"CREATE TRIGGER gobd_{table}_update BEFORE UPDATE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION gobd_refuse()")
    for table in NEVER_DELETED:
        op.execute(f"CREATE TRIGGER gobd_{table}_delete BEFORE DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION gobd_refuse()")
        op.execute(f"CREATE TRIGGER gobd_{table}_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION gobd_refuse()")


def _pg_downgrade() -> None:
    for table in NEVER_DELETED:
        op.execute(f"DROP TRIGGER IF EXISTS gobd_{table}_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS gobd_{table}_delete ON {table}")
    for table in NEVER_UPDATED:
        op.execute(f"DROP TRIGGER IF EXISTS gobd_{table}_update ON {table}")
    op.execute("DROP TRIGGER IF EXISTS gobd_invoices_update ON invoices")
    op.execute("DROP FUNCTION IF EXISTS gobd_invoice_update()")
    op.execute("DROP FUNCTION IF EXISTS gobd_refuse()")


def _sqlite_upgrade() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in INVOICE_FIXED)
    op.execute(f"""
        CREATE TRIGGER gobd_invoices_update BEFORE UPDATE ON invoices FOR EACH ROW
        WHEN {changed}
             OR (OLD.decision_id IS NOT NULL AND NEW.decision_id IS NOT OLD.decision_id)
        BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE on invoices)'); END""")
    for table in NEVER_UPDATED:
        op.execute(f"""
            CREATE TRIGGER gobd_{table}_update BEFORE UPDATE ON {table} FOR EACH ROW
            BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE on {table})'); END""")
    for table in NEVER_DELETED:
        op.execute(f"""
            CREATE TRIGGER gobd_{table}_delete BEFORE DELETE ON {table} FOR EACH ROW
            BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE on {table})'); END""")


def _sqlite_downgrade() -> None:
    for table in NEVER_DELETED:
        op.execute(f"DROP TRIGGER IF EXISTS gobd_{table}_delete")
    for table in NEVER_UPDATED:
        op.execute(f"DROP TRIGGER IF EXISTS gobd_{table}_update")
    op.execute("DROP TRIGGER IF EXISTS gobd_invoices_update")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()
    else:
        raise NotImplementedError(f"GoBD triggers for {dialect} are not written yet")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_downgrade()
    elif dialect == "sqlite":
        _sqlite_downgrade()
