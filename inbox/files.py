"""Attachment downloads. Agents get files of inboxes they belong to; providers that fetch our
media by URL (Meta) get a signed, expiring link."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from .models import Attachment
from .selectors import conversations_for

SIGNED_LINK_MAX_AGE = 60 * 60 * 24


def signed_url(attachment: Attachment) -> str:
    return reverse("files:signed", args=[signing.dumps(attachment.pk, salt="attachment-link")])


#: Shown in the page; everything else (SVG and HTML included: they can carry scripts) is a
#: download, and every file is served with a sandboxing CSP on top.
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "audio/", "video/")


def _response(attachment: Attachment) -> FileResponse:
    if not attachment.file:
        raise Http404(_("This file is not stored."))
    content_type = (attachment.content_type or "").lower()
    response = FileResponse(attachment.file.open("rb"), filename=attachment.filename or "file",
                            as_attachment=not content_type.startswith(INLINE_TYPES))
    response["Content-Type"] = attachment.content_type or "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def attachment_download(request, pk: int):
    attachment = get_object_or_404(
        Attachment.objects.select_related("message"),
        pk=pk, message__conversation__in=conversations_for(request.user),
    )
    return _response(attachment)


def signed_download(request, token: str):
    try:
        pk = signing.loads(token, salt="attachment-link", max_age=SIGNED_LINK_MAX_AGE)
    except signing.BadSignature:
        raise Http404(_("This link is not valid or has expired.")) from None
    return _response(get_object_or_404(Attachment, pk=pk))
