from . import checklist, roster, sampling  # noqa: F401  (registers the admin pages)
