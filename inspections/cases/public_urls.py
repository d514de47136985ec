"""The public bulletins (通报) under /public/<lang>/bulletins/ (beside the publication's public pages)."""

from django.urls import path

from inspections.cases import public_views as views

urlpatterns = [
    path("<str:lang>/bulletins/", views.bulletin_index, name="public-bulletins"),
    path("<str:lang>/bulletins/<int:pk>/", views.bulletin_detail, name="public-bulletin"),
    path("<str:lang>/bulletins/<int:pk>.pdf", views.bulletin_pdf_view, name="public-bulletin-pdf"),
]
