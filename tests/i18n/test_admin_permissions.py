"""Permission names in the admin's user and group pages read in the admin's language, from
our catalogs, while the stored rows stay Django's English ones."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import translation

from inbox.admin_auth import permission_label, permission_name
from inbox.models import AgentProfile
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


def option_labels(html: str, field: str) -> dict[str, str]:
    select = re.search(rf'<select name="{field}".*?</select>', html, re.S).group(0)
    return {value: label for value, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select)}


def perm(codename: str) -> Permission:
    return Permission.objects.select_related("content_type").get(codename=codename)


def test_default_permissions_are_labelled_in_the_active_language():
    with translation.override("pt-br"):
        assert permission_name(perm("add_conversation")) == "Pode adicionar conversa"
        assert permission_label(perm("view_accessattempt")) == "Axes | tentativa de acesso | Pode ver tentativa de acesso"
        assert permission_label(perm("change_user")).endswith("| usuário | Pode alterar usuário")
    with translation.override("es"):
        assert permission_name(perm("delete_conversation")) == "Puede eliminar conversación"
        assert permission_name(perm("view_accesslog")) == "Puede ver registro de acceso"
    with translation.override("en"):
        assert permission_label(perm("add_conversation")) == str(perm("add_conversation"))
    assert perm("add_conversation").name == "Can add conversation"  # the row is unchanged


def test_a_custom_permission_keeps_its_own_name():
    from django.contrib.contenttypes.models import ContentType

    from inbox.models import Conversation

    custom = Permission.objects.create(codename="export_everything", name="Export everything",
                                       content_type=ContentType.objects.get_for_model(Conversation))
    with translation.override("pt-br"):
        assert permission_name(custom) == "Export everything"  # no catalog entry: as written


@pytest.mark.parametrize(("language", "expected"), [("pt-br", "Pode adicionar conversa"),
                                                    ("es", "Puede agregar conversación")])
def test_user_and_group_pages_list_translated_permissions(client, language, expected):
    admin_user = make_agent("chefe", staff=True, is_superuser=True)
    AgentProfile.objects.filter(user=admin_user).update(language=language)
    client.force_login(admin_user)
    group = Group.objects.create(name="Equipe")
    add_conversation = perm("add_conversation")
    group.permissions.add(add_conversation)

    for url, field in [(f"/admin/auth/user/{admin_user.pk}/change/", "user_permissions"),
                       ("/admin/auth/group/add/", "permissions"),
                       (f"/admin/auth/group/{group.pk}/change/", "permissions")]:
        html = client.get(url).content.decode()
        labels = option_labels(html, field)
        assert labels[str(add_conversation.pk)].endswith(f"| {expected}"), url
        assert not [label for label in labels.values() if "Can " in label], url
    # saving the form still stores the chosen permissions by id
    view_label = perm("view_label")
    response = client.post(f"/admin/auth/group/{group.pk}/change/",
                           {"name": "Equipe", "permissions": [add_conversation.pk, view_label.pk]})
    assert response.status_code == 302
    assert set(group.permissions.values_list("codename", flat=True)) == {"add_conversation", "view_label"}


def test_a_read_only_user_page_shows_translated_permissions(client):
    """Staff who may only view users see the permissions as text, translated too."""
    viewer = make_agent("leitor", staff=True)
    viewer.user_permissions.add(perm("view_user"))
    AgentProfile.objects.filter(user=viewer).update(language="pt-br")
    target = make_agent("alvo")
    target.user_permissions.add(perm("change_conversation"))
    client.force_login(viewer)
    response = client.get(f"/admin/auth/user/{target.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Pode alterar conversa" in html and "Can change conversation" not in html
    assert "Permissões" in html
