"""Runs: the record of one pipeline execution and its state machine."""
