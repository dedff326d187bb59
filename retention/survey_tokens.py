"""Signed survey links: the token in an e-mail survey's rating links."""

from __future__ import annotations

from django.core import signing

from .models import Survey

_SALT = "retention.survey-link"


def sign_token(survey: Survey) -> str:
    return signing.Signer(salt=_SALT).sign(survey.token)


def survey_for_signed_token(signed: str) -> Survey:
    """The survey a link names; raises ``signing.BadSignature`` for a forged or altered link and
    ``Survey.DoesNotExist`` for one whose survey is gone."""
    token = signing.Signer(salt=_SALT).unsign(signed)
    return Survey.objects.select_related("conversation", "inbox", "contact").get(token=token)
