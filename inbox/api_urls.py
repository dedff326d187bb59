from django.urls import path

from . import api

app_name = "api"
urlpatterns = [
    path("inboxes/", api.InboxListApi.as_view(), name="inbox-list"),
    path("contacts/", api.ContactListApi.as_view(), name="contact-list"),
    path("contacts/<int:pk>/", api.ContactDetailApi.as_view(), name="contact-detail"),
    path("conversations/", api.ConversationListApi.as_view(), name="conversation-list"),
    path("conversations/<int:pk>/", api.ConversationDetailApi.as_view(), name="conversation-detail"),
    path("conversations/<int:pk>/messages/", api.MessageListApi.as_view(), name="conversation-messages"),
]
