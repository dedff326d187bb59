"""The project's URLs plus the shop webhook, until config/urls.py includes it (after the
architecture merge); then this module and its fixture go."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("webhooks/shop/", include("shops.urls")), *project_urlpatterns]
