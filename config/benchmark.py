"""A benchmark's yardstick: a bare view that only streams the request body to a file.

Routed only when ``QINGSHAN_BENCHMARK_BARE_UPLOAD`` is on, which only
``tests/benchmarks/bench_upload.py`` sets: the photo upload is measured
against this view served by the same server, with the same settings and
middleware, so their ratio is the cost of the product's upload path alone.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

CHUNK = 1024 * 1024


@csrf_exempt
def bare_upload(request: HttpRequest) -> HttpResponse:
    """Write the body to a new file under the media folder; answer 201."""
    folder = settings.MEDIA_ROOT / "bench-bare"
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(folder / uuid.uuid4().hex, "wb") as out:
        while data := request.read(CHUNK):
            out.write(data)
            written += len(data)
    return HttpResponse(str(written), status=201, content_type="text/plain")
