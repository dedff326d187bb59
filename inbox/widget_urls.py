from django.urls import path  # noqa: F401

urlpatterns = []  # the widget issue adds widget.js and widget-attachment here
