from django.urls import path

from . import views

urlpatterns = [
    path("<str:platform>/<str:public_id>/", views.webhook, name="shop-webhook"),
]
