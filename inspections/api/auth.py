"""Token endpoints: simplejwt's views with login throttling."""

from drf_spectacular.utils import extend_schema
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt import views as jwt_views


@extend_schema(tags=["auth"])
class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange a username and password for an access and a refresh token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    problem_statuses = ["400", "401"]


@extend_schema(tags=["auth"])
class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new access token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    problem_statuses = ["400", "401"]
