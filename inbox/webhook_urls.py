from django.urls import path

from . import webhooks

urlpatterns = [
    path("<str:channel_kind>/<str:public_id>/", webhooks.webhook, name="webhook"),
]
