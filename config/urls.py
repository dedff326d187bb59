from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg", permanent=True)),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves its start-up script as a file, so the page works under the CSP
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("inbox.api_urls")),
    path("webhooks/shop/", include("shops.urls")),
    path("webhooks/", include("inbox.webhook_urls")),
    path("files/", include("inbox.file_urls")),
    path("bot/", include("bot.urls")),
    path("retention/", include("retention.urls")),
    path("", include("widget.urls")),
    path("", include("inbox.urls")),
]
