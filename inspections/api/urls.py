"""Routes of /api/v1/, grouped by the part of the work they serve."""

from django.urls import path, re_path

from inspections.accounts.api import MeView, TokenObtainView, TokenRefreshView
from inspections.cases import api as cases
from inspections.complaints import api as complaints
from inspections.evidence.api import PhotoDetailView, PhotoFileView, PhotoUploadView
from inspections.evidence.api_tus import UploadCreateView, UploadDetailView
from inspections.fieldwork.api import (
    AssignmentDetailView,
    AssignmentListView,
    CheckInView,
    FindingCreateView,
    FindingPhotoDropView,
    InspectionDetailView,
    SubmitView,
)
from inspections.publication import public_api
from inspections.sampling.api import (
    PublicDrawView,
    PublicTargetedVisitView,
    TargetedVisitDetailView,
    TargetedVisitListView,
)
from villages.api.views import VillageListView

urlpatterns = [
    # accounts and reference data
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("me/", MeView.as_view(), name="me"),
    path("villages/", VillageListView.as_view(), name="village-list"),
    # the field: assignments, check-in, findings, photos, submission
    path("assignments/", AssignmentListView.as_view(), name="assignment-list"),
    path("assignments/<int:pk>/", AssignmentDetailView.as_view(), name="assignment-detail"),
    path("inspections/<int:pk>/", InspectionDetailView.as_view(), name="inspection-detail"),
    path("inspections/<int:pk>/check-in/", CheckInView.as_view(), name="inspection-check-in"),
    path("inspections/<int:pk>/submit/", SubmitView.as_view(), name="inspection-submit"),
    path("findings/", FindingCreateView.as_view(), name="finding-create"),
    path(
        "findings/<uuid:client_uuid>/photos/<uuid:photo_uuid>/",
        FindingPhotoDropView.as_view(),
        name="finding-photo-drop",
    ),
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
    # cases to closure
    path("cases/", cases.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>/", cases.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:pk>/acknowledge/", cases.CaseAcknowledgeView.as_view(), name="case-acknowledge"),
    path("cases/<int:pk>/rectifications/", cases.RectificationCreateView.as_view(), name="case-rectify"),
    path("cases/<int:pk>/verification/", cases.VerificationView.as_view(), name="case-verification"),
    path("cases/<int:pk>/extensions/", cases.ExtensionCreateView.as_view(), name="case-extension"),
    path("cases/<int:pk>/look-back/", cases.LookBackView.as_view(), name="case-look-back"),
    # targeted visits and complaints (supervisors, the complaint intake role)
    path("targeted-visits/", TargetedVisitListView.as_view(), name="targeted-visit-list"),
    path("targeted-visits/<int:pk>/", TargetedVisitDetailView.as_view(), name="targeted-visit-detail"),
    path("complaints/", complaints.ComplaintListView.as_view(), name="complaint-list"),
    path("complaints/<int:pk>/", complaints.ComplaintDetailView.as_view(), name="complaint-detail"),
    path("complaints/<int:pk>/check/", complaints.ComplaintCheckView.as_view(), name="complaint-check"),
    path("cases/<int:pk>/handover-sheet/", cases.HandoverSheetView.as_view(), name="case-handover-sheet"),
    path(
        "cases/<int:pk>/rectification-sheet/",
        cases.RectificationSheetView.as_view(),
        name="case-rectification-sheet",
    ),
    path("cases/<int:pk>/receipt/", cases.CaseReceiptView.as_view(), name="case-receipt"),
    path("cases/<int:pk>/measures/", cases.CaseMeasuresView.as_view(), name="case-measures"),
    path(
        "cases/<int:pk>/stages/<int:seq>/complete/",
        cases.CaseStageCompleteView.as_view(),
        name="case-stage-complete",
    ),
    path("notifications/", cases.NotificationListView.as_view(), name="notification-list"),
    # public record (一公开): no account needed
    path("public/draws/<int:pk>/", PublicDrawView.as_view(), name="public-draw"),
    path("public/targeted-visits/<int:pk>/", PublicTargetedVisitView.as_view(), name="public-targeted-visit"),
    path("public/results/", public_api.PublicResultListView.as_view(), name="public-result-list"),
    path(
        "public/results/<int:pk>/", public_api.PublicResultDetailView.as_view(), name="public-result-detail"
    ),
    path("public/typical-cases/", public_api.PublicTypicalCaseListView.as_view(), name="public-typical-list"),
    path(
        "public/typical-cases/<int:pk>/",
        public_api.PublicTypicalCaseDetailView.as_view(),
        name="public-typical-detail",
    ),
]
