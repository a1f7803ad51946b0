"""The config base model and the TOML loader machinery both sides' configs use."""
