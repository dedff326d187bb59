from django.urls import path
from django.views.i18n import JavaScriptCatalog

from . import preferences, views

app_name = "inbox"
urlpatterns = [
    path("", views.home, name="home"),
    # The JavaScript catalog of the active language (gettext, ngettext, interpolate).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("conversations/", views.home, name="conversations"),
    path("conversations/<int:pk>/", views.conversation_detail, name="conversation"),
    path("conversations/<int:pk>/row/", views.conversation_row, name="conversation-row"),
    path("conversations/<int:pk>/reply/", views.conversation_reply, name="conversation-reply"),
    path("conversations/<int:pk>/assign/", views.conversation_assign, name="conversation-assign"),
    path("conversations/<int:pk>/status/", views.conversation_status, name="conversation-status"),
    path("conversations/<int:pk>/labels/", views.conversation_labels, name="conversation-labels"),
    path("conversations/<int:pk>/priority/", views.conversation_priority, name="conversation-priority"),
    path("conversations/<int:pk>/read/", views.conversation_read, name="conversation-read"),
    path("messages/<int:pk>/retry/", views.message_retry, name="message-retry"),
    path("attachments/<int:pk>/retry/", views.attachment_retry, name="attachment-retry"),
    path("contacts/<int:pk>/merge/", views.contact_merge, name="contact-merge"),
]
