"""The append-only audit log, below every app that writes it."""
