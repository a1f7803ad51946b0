"""The central HR store: SQLite or PostgreSQL behind one small SQL layer; repositories as modules."""

from sync.server.store.hr_store import HRStore, database_url, open_hr_store
from sync.server.store.records import IngestResult

__all__ = ["HRStore", "IngestResult", "database_url", "open_hr_store"]
