from django.urls import path, re_path

from inspections.api.auth import TokenObtainView, TokenRefreshView
from inspections.api.evidence import PhotoDetailView, PhotoFileView, PhotoUploadView
from inspections.api.fieldwork import (
    AssignmentListView,
    CheckInView,
    FindingCreateView,
    InspectionDetailView,
    SubmitView,
)
from inspections.api.tus import UploadCreateView, UploadDetailView
from inspections.api.views import MeView
from villages.api.views import VillageListView

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("me/", MeView.as_view(), name="me"),
    path("villages/", VillageListView.as_view(), name="village-list"),
    path("assignments/", AssignmentListView.as_view(), name="assignment-list"),
    path("inspections/<int:pk>/", InspectionDetailView.as_view(), name="inspection-detail"),
    path("inspections/<int:pk>/check-in/", CheckInView.as_view(), name="inspection-check-in"),
    path("inspections/<int:pk>/submit/", SubmitView.as_view(), name="inspection-submit"),
    path("findings/", FindingCreateView.as_view(), name="finding-create"),
    path("photos/", PhotoUploadView.as_view(), name="photo-upload"),
    path("photos/<uuid:client_uuid>/", PhotoDetailView.as_view(), name="photo-detail"),
    re_path(
        r"^photos/(?P<client_uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
        r"/(?P<kind>original|preview|thumbnail)/$",
        PhotoFileView.as_view(),
        name="photo-file",
    ),
    path("uploads/", UploadCreateView.as_view(), name="upload-create"),
    path("uploads/<uuid:pk>/", UploadDetailView.as_view(), name="upload-detail"),
]
