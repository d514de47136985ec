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
