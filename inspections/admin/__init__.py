from . import cases, checklist, fieldwork, roster, sampling  # noqa: F401  (registers the admin pages)
