"""What GitHub shows: comments (rendered, split, redacted), status texts, commands, budgets."""
