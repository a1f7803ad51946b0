"""The device's local web panel, kiosk screen and booth screens."""
