"""Use cases, each one transaction: intake, orders, fulfilment, invoicing, payments, dunning,
outbox. They take `today` from the caller; decisions come from the pure core."""
