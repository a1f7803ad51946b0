"""The central HR store: SQLite or PostgreSQL behind one small SQL layer; repositories as modules."""

from sync.server.store import attendance, audit, devices, downlinks, employees, records, webhook_rows
from sync.server.store.hr_store import HRStore, database_url, open_hr_store
from sync.server.store.records import IngestResult

__all__ = [
    "HRStore",
    "IngestResult",
    "attendance",
    "audit",
    "database_url",
    "devices",
    "downlinks",
    "employees",
    "open_hr_store",
    "records",
    "webhook_rows",
]
