from django.urls import path

from inspections.api.auth import TokenObtainView, TokenRefreshView
from inspections.api.sampling import AssignmentDetailView, AssignmentListView, PublicDrawView
from inspections.api.views import MeView
from villages.api.views import VillageListView

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("me/", MeView.as_view(), name="me"),
    path("villages/", VillageListView.as_view(), name="village-list"),
    path("assignments/", AssignmentListView.as_view(), name="assignment-list"),
    path("assignments/<int:pk>/", AssignmentDetailView.as_view(), name="assignment-detail"),
    path("public/draws/<int:pk>/", PublicDrawView.as_view(), name="public-draw"),
]

from inspections.api import cases as case_views  # noqa: E402
from inspections.public import api as public_api  # noqa: E402

urlpatterns += [
    path("cases/", case_views.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>/", case_views.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:pk>/acknowledge/", case_views.CaseAcknowledgeView.as_view(), name="case-acknowledge"),
    path("cases/<int:pk>/rectifications/", case_views.RectificationCreateView.as_view(), name="case-rectify"),
    path("cases/<int:pk>/verification/", case_views.VerificationView.as_view(), name="case-verification"),
    path("cases/<int:pk>/look-back/", case_views.LookBackView.as_view(), name="case-look-back"),
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
