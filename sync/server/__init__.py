"""The central HR server: ingest workers, HR store, HR API and web pages."""
