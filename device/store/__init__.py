"""Device store: SQLite schema and migrations, repositories, explicit transactions."""

from device.store.database import Store, open_store

__all__ = ["Store", "open_store"]
