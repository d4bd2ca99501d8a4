"""Database pieces of our own."""
