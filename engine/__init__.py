"""The order-to-cash engine: a pure core (engine.core) in an imperative shell."""
