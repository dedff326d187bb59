from django.urls import include, path

urlpatterns = [
    path("webhooks/", include("inbox.webhook_urls")),
    path("", include("inbox.urls")),
]
