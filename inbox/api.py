"""The REST API: one small class per resource operation, input and output serializers
(HackSoft style). Reads come from ``inbox.selectors`` (so an agent only reaches the inboxes they
belong to: anything else is 404), writes go through ``inbox.services``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .api_schema import errors, paginated
from .models import Conversation, Message
from .serializers import (
    ContactFilterSerializer,
    ContactOutputSerializer,
    ContactUpdateInputSerializer,
    ConversationFilterSerializer,
    ConversationOutputSerializer,
    ConversationUpdateInputSerializer,
    InboxOutputSerializer,
    MessageCreateInputSerializer,
    MessageOutputSerializer,
)


PAGE = OpenApiParameter("page", int, required=False, description="Page number (25 items a page); 404 past the last.")


def _paginated(request, view, queryset, serializer_class):
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _error(exc: services.ServiceError) -> Response:
    code = http.HTTP_409_CONFLICT if isinstance(exc, services.AssignmentConflict) else http.HTTP_400_BAD_REQUEST
    return Response({"detail": str(exc)}, status=code)


def _conversation(user, pk: int) -> Conversation:
    return get_object_or_404(
        selectors.with_unread_counts(
            selectors.conversations_for(user).select_related("inbox", "contact", "assignee", "assignee__agent_profile")
            .prefetch_related("labels"), user),
        pk=pk,
    )


class InboxListApi(APIView):
    @extend_schema(responses={200: InboxOutputSerializer(many=True), **errors()}, summary="Inboxes the user belongs to")
    def get(self, request):
        inboxes = selectors.inboxes_for(request.user).order_by("name")
        return Response(InboxOutputSerializer(inboxes, many=True).data)


class ContactListApi(APIView):
    @extend_schema(operation_id="api_contacts_list", parameters=[ContactFilterSerializer, PAGE], responses={200: paginated(ContactOutputSerializer), **errors(400, 404)},
                   summary="Contacts with a conversation in the user's inboxes; ?q= searches name, e-mail, phone")
    def get(self, request):
        filters = ContactFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        contacts = selectors.contacts_for(request.user).prefetch_related("identities").order_by("-updated_at", "-pk")
        query = filters.validated_data.get("q", "").strip()
        if query:
            contacts = contacts.filter(Q(name__icontains=query) | Q(email__icontains=query) | Q(phone__icontains=query))
        return _paginated(request, self, contacts, ContactOutputSerializer)


class ContactDetailApi(APIView):
    @extend_schema(responses={200: ContactOutputSerializer, **errors(404)}, summary="One contact")
    def get(self, request, pk: int):
        contact = get_object_or_404(selectors.contacts_for(request.user).prefetch_related("identities"), pk=pk)
        return Response(ContactOutputSerializer(contact).data)

    @extend_schema(request=ContactUpdateInputSerializer, responses={200: ContactOutputSerializer, **errors(400, 404)},
                   summary="Change a contact")
    def patch(self, request, pk: int):
        contact = get_object_or_404(selectors.contacts_for(request.user), pk=pk)
        data = ContactUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            contact = services.contact_update(contact=contact, **data.validated_data)
        except services.ServiceError as exc:
            return _error(exc)
        return Response(ContactOutputSerializer(contact).data)


class ConversationListApi(APIView):
    @extend_schema(operation_id="api_conversations_list", parameters=[ConversationFilterSerializer, PAGE],
                   responses={200: paginated(ConversationOutputSerializer), **errors(400, 404)},
                   summary="Conversations, with the inbox page's views and filters")
    def get(self, request):
        filters = ConversationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        conversations = selectors.conversation_list(
            user=request.user, view=f.get("view", "all"), status=f.get("status"), inbox_id=f.get("inbox"),
            channel_kind=f.get("channel"), label=f.get("label"), query=f.get("q", "").strip(),
        ).prefetch_related("labels")
        return _paginated(request, self, conversations, ConversationOutputSerializer)


class ConversationDetailApi(APIView):
    @extend_schema(responses={200: ConversationOutputSerializer, **errors(404)}, summary="One conversation")
    def get(self, request, pk: int):
        return Response(ConversationOutputSerializer(_conversation(request.user, pk)).data)

    @extend_schema(request=ConversationUpdateInputSerializer,
                   responses={200: ConversationOutputSerializer, **errors(400, 404, 409)},
                   summary="Change status, assignee, labels or priority")
    def patch(self, request, pk: int):
        conversation = _conversation(request.user, pk)
        data = ConversationUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            if "assignee" in values:
                agent = None
                if values["assignee"] is not None:
                    agent = get_user_model().objects.filter(pk=values["assignee"], is_active=True).first()
                    if agent is None:
                        raise ValidationError({"assignee": _("No such user.")})
                kwargs = {"expected_assignee_id": values["expected_assignee"]} if "expected_assignee" in values else {}
                services.assign(conversation=conversation, agent=agent, actor=request.user, **kwargs)
            if "status" in values:
                new_status = values["status"]
                if new_status == Conversation.Status.RESOLVED:
                    services.resolve(conversation=conversation, actor=request.user)
                elif new_status == Conversation.Status.SNOOZED:
                    services.snooze(conversation=conversation, until=values["snoozed_until"], actor=request.user)
                else:
                    services.set_status(conversation=conversation, status=new_status, actor=request.user)
            if "labels" in values:
                services.set_labels(conversation=conversation, labels=values["labels"])
            if "priority" in values:
                services.set_priority(conversation=conversation, priority=values["priority"])
        except services.ServiceError as exc:
            return _error(exc)
        return Response(ConversationOutputSerializer(_conversation(request.user, pk)).data)


class MessageListApi(APIView):
    @extend_schema(responses={200: paginated(MessageOutputSerializer), **errors(404)},
                   parameters=[PAGE],
                   summary="Messages of a conversation, oldest first, notes included")
    def get(self, request, pk: int):
        conversation = _conversation(request.user, pk)
        messages = (Message.objects.filter(conversation=conversation)
                    .select_related("author", "author__agent_profile").prefetch_related("attachments")
                    .order_by("created_at", "id"))
        return _paginated(request, self, messages, MessageOutputSerializer)

    @extend_schema(request=MessageCreateInputSerializer, responses={201: MessageOutputSerializer, **errors(400, 404)},
                   summary="Send a reply to the customer, or add a private note")
    def post(self, request, pk: int):
        conversation = _conversation(request.user, pk)
        data = MessageCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            if data.validated_data["private"]:
                message = services.add_note(conversation=conversation, author=request.user,
                                            text=data.validated_data["text"])
            else:
                message = services.send_reply(conversation=conversation, author=request.user,
                                              text=data.validated_data["text"])
        except services.ServiceError as exc:
            return _error(exc)
        return Response(MessageOutputSerializer(message).data, status=http.HTTP_201_CREATED)
