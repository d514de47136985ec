"""The public bulletins (通报) and the 销号 under 公示, under /public/<lang>/."""

from django.urls import path

from inspections.cases import public_views as views

urlpatterns = [
    path("<str:lang>/bulletins/", views.bulletin_index, name="public-bulletins"),
    path("<str:lang>/bulletins/<int:pk>/", views.bulletin_detail, name="public-bulletin"),
    path("<str:lang>/bulletins/<int:pk>.pdf", views.bulletin_pdf_view, name="public-bulletin-pdf"),
    path("<str:lang>/closures/", views.closures_index, name="public-closures"),
]
