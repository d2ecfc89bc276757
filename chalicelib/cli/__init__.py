"""The ``maestro`` command line: local mode, and a client of the runs API."""
