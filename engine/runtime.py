"""What the shell needs to run a use case: configuration, database, blob store, rule sets,
where issued documents and outgoing mail go. Built explicitly, never at import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.core.config import Config
from engine.core.rules import RuleSet
from engine.rulebook import ActiveRules
from engine.store.blobs import BlobStore, DatabaseBlobStore, FileBlobStore
from engine.store.db import Database


@dataclass
class Runtime:
    config: Config
    db: Database
    blobs: BlobStore
    rules: ActiveRules
    out_dir: Path
    outbox_dir: Path

    @classmethod
    def open(cls, config: Config) -> Runtime:
        storage = config.path("storage.dir")
        db = Database(config.database_url)
        blobs: BlobStore = (DatabaseBlobStore(db.sessions) if config["storage.blobs"] == "database"
                            else FileBlobStore(storage / "blobs"))
        return cls(config=config, db=db, blobs=blobs,
                   rules=ActiveRules(config.path("storage.rules")),
                   out_dir=config.path("storage.out"), outbox_dir=storage / "outbox")

    def rule_set(self, event: str) -> RuleSet:
        """The active rule set for an event, as of the last `reload_rules`."""
        if event not in self.rules.by_event:
            self.reload_rules()
        return self.rules.by_event[event]

    def reload_rules(self) -> None:
        """Pick up activations (also from other processes); jobs call it before they run."""
        with self.db.unit_of_work() as session:
            self.rules.reload(session)

    @property
    def templates(self) -> str | None:
        value = self.config["storage.templates"]
        return str(self.config.path("storage.templates")) if value else None

    def close(self) -> None:
        self.db.dispose()
