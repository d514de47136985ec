from . import cases as _cases  # noqa: F401  (registers the cases area)
from . import checklist, roster  # noqa: F401  (registers the admin pages)
from . import digests as _digests  # noqa: F401  (registers the digests area)
