"""Dunning charges as own receivables; §367 settlement (issue 7)

A table `charges` (fees, the § 288 (5) flat fee and default interest, each with its own
number, claimed by a dunning letter on an invoice's claim) and `allocations.charge_id`
(money that settles a charge rather than the principal). Charges never change and are
never deleted (a correction is a cancelling entry): database triggers refuse it, as 0002
does for issued invoices. `allocations` carries no GoBD triggers, so the batch rebuild
on SQLite drops none.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MESSAGE = "GoBD: a dunning charge never changes; correct it by a cancelling entry"


def upgrade() -> None:
    op.create_table('charges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('charge_date', sa.Date(), nullable=False),
    sa.Column('interest_rate', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('interest_from', sa.Date(), nullable=True),
    sa.Column('interest_to', sa.Date(), nullable=True),
    sa.Column('cancels_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cancels_id'], ['charges.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['letter_id'], ['dunning_letters.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['dunning_notices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charges_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charges_invoice_id'), ['invoice_id'], unique=False)

    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('charge_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_allocations_charge_id'), ['charge_id'], unique=False)
        batch_op.create_foreign_key('fk_allocations_charge_id', 'charges', ['charge_id'], ['id'])

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"""
            CREATE FUNCTION gobd_charge_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END $$""")
        for when in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER gobd_charges_{when.lower()} BEFORE {when} ON charges "
                       "FOR EACH ROW EXECUTE FUNCTION gobd_charge_refuse()")
        op.execute("CREATE TRIGGER gobd_charges_truncate BEFORE TRUNCATE ON charges "
                   "FOR EACH STATEMENT EXECUTE FUNCTION gobd_charge_refuse()")
    elif dialect == "sqlite":
        for when in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER gobd_charges_{when.lower()} BEFORE {when} ON charges FOR EACH ROW
                BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({when} on charges)'); END""")
    else:
        raise NotImplementedError(f"GoBD triggers for {dialect} are not written yet")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for when in ("update", "delete", "truncate"):
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS gobd_charges_{when} ON charges")
        elif when != "truncate":
            op.execute(f"DROP TRIGGER IF EXISTS gobd_charges_{when}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gobd_charge_refuse()")
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_allocations_charge_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_allocations_charge_id'))
        batch_op.drop_column('charge_id')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charges_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_charges_customer_id'))
    op.drop_table('charges')
