"""The PostgreSQL cluster fixture of the server tests, for the backup and restore test."""

from tests.server.conftest import pg_server  # noqa: F401  (a fixture, used by name)
