"""The store: SQLAlchemy models, sessions and the unit of work, migrations, originals."""
