from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.health import healthz, readyz
from config.metrics import metrics
from inspections.digests.unsubscribe import unsubscribe as digest_unsubscribe

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("inspections.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("public/", include("inspections.cases.public_urls")),
    path("public/", include("inspections.publication.urls")),
    path("digests/unsubscribe/<str:token>/", digest_unsubscribe, name="digest-unsubscribe"),
]

if settings.QINGSHAN_BENCHMARK_BARE_UPLOAD:
    from config.benchmark import bare_upload

    urlpatterns.append(path("benchmark/bare-upload/", bare_upload, name="benchmark-bare-upload"))

handler400 = "inspections.api.problems.bad_request"
handler403 = "inspections.api.problems.permission_denied"
handler404 = "inspections.api.problems.not_found"
handler500 = "inspections.api.problems.server_error"
