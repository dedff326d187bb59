"""Widget routes, included at "/" (full paths here)."""

from django.urls import path

from . import views as widget_views

urlpatterns = [
    path("widget.js", widget_views.widget_js, name="widget-js"),
    path("widget/api/config", widget_views.config_view, name="widget-config"),
    path("widget/api/session", widget_views.session_view, name="widget-session"),
    path("widget/api/messages", widget_views.messages_view, name="widget-messages"),
    path("widget/api/upload", widget_views.upload_view, name="widget-upload"),
    path("widget/api/contact", widget_views.contact_view, name="widget-contact"),
    path("widget/attachments/<int:pk>/", widget_views.attachment_view, name="widget-attachment"),
    path("demo-shop/", widget_views.demo_shop, name="demo-shop"),
]
