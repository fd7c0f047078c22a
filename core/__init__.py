"""Leaf utilities every layer uses: errors and exit codes, atomic writes, redaction, durations,
logging set-up and "did you mean" suggestions. Nothing in here imports the rest of tradeday."""
