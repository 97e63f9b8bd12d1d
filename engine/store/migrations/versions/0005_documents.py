"""Outgoing documents: buyer reference, contact, UBL (issue 5)

`customers.buyer_reference` (BT-10 in e-invoices: the Leitweg-ID of a public buyer). Added
with a plain ALTER TABLE ADD COLUMN on both databases: `customers` carries no GoBD
trigger, and no table is rebuilt.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('buyer_reference', sa.String(length=100),
                                         nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('buyer_reference')
