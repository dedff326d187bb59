from django.urls import path

from . import views

urlpatterns = [
    path("<str:channel_kind>/<str:public_id>/", views.webhook, name="webhook"),
]
