"""The ``edgehr`` command line."""
