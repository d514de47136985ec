"""The embedded runtime's database backend: Django's SQLite with one writer at a time per process."""
