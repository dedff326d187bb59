"""``config.urls`` plus ``/retention/``, for tests run before the integrator includes it."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

_included = any(getattr(p, "pattern", None) and str(p.pattern) == "retention/" for p in project_urlpatterns)
urlpatterns = list(project_urlpatterns) if _included else [
    path("retention/", include("retention.urls")), *project_urlpatterns]
