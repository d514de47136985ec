from . import cases, checklist, digests, fieldwork, roster, sampling  # noqa: F401  (registers the admin pages)
