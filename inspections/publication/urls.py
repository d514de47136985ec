"""The public pages (一公开) under /public/: the index, results, typical cases and public images."""

from django.urls import path

from inspections.publication import public_views as views

urlpatterns = [
    path("", views.index_redirect, name="public-root"),
    path("images/<uuid:uuid>.jpg", views.image, name="public-image"),
    path("<str:lang>/", views.index, name="public-index"),
    path("<str:lang>/results/<int:pk>/", views.result_detail, name="public-result"),
    path("<str:lang>/cases/<int:pk>/", views.typical_case_detail, name="public-typical-case"),
]
