from . import checklist, roster  # noqa: F401  (registers the admin pages)
