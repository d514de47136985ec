from . import cases, checklist, roster, sampling  # noqa: F401  (registers the admin pages)
