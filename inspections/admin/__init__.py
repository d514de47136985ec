from . import checklist, fieldwork, roster  # noqa: F401  (registers the admin pages)
