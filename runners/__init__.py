"""The job executor: runs a JobSpec's steps and reports back (``python -m runners run --job``)."""
