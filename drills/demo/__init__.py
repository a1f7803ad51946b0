"""The demo site: broker, server and a replayed terminal on 127.0.0.1, started by README's first command."""
