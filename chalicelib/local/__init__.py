"""Local mode: the whole controller on one machine, with moto standing in for AWS."""
