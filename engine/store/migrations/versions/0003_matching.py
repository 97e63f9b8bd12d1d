"""Payment matching: VAT on deductions, customer credit, review retries (issue 6)

Revision ID: 0003
Revises: 0002

- customer_credits: an overpayment kept as the customer's credit (amount, remaining, state);
- allocations.tax_rate / tax_amount: a cash discount's VAT correction, one allocation per
  rate; allocations.credit_id: the customer credit an allocation of kind "credit" uses.
Review retries need no schema: they use the transactions' status and the audit log.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('remaining', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['transaction_id'], ['bank_transactions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_credits_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_credits_transaction_id'), ['transaction_id'], unique=False)

    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=True))
        batch_op.add_column(sa.Column('tax_amount', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('credit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_allocations_credit_id'), ['credit_id'], unique=False)
        batch_op.create_foreign_key('fk_allocations_credit_id', 'customer_credits', ['credit_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_allocations_credit_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_allocations_credit_id'))
        batch_op.drop_column('credit_id')
        batch_op.drop_column('tax_amount')
        batch_op.drop_column('tax_rate')

    with op.batch_alter_table('customer_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_credits_transaction_id'))
        batch_op.drop_index(batch_op.f('ix_customer_credits_customer_id'))
    op.drop_table('customer_credits')
