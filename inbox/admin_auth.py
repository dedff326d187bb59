"""Users and groups in the admin, with permission names in the reader's language.

Django writes a permission's name once, in English, when it creates the row ("Can add
conversation"), and the user and group pages list those names. The rows stay as they are: the
permission fields label each permission from its codename and its model's translated names
(``permission_label``: "Atendimento | conversa | Pode adicionar conversa"), through our catalogs,
both in the selector and on a read-only page (a staff member who may only view users).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.utils.translation import gettext, gettext_lazy, gettext_noop

#: Django's default permissions ("Can add conversation" is stored), by action.
ACTIONS = {
    "add": gettext_noop("Can add %(model)s"),
    "change": gettext_noop("Can change %(model)s"),
    "delete": gettext_noop("Can delete %(model)s"),
    "view": gettext_noop("Can view %(model)s"),
}


def permission_name(permission: Permission) -> str:
    """The permission's name in the active language (a custom permission's name goes through
    the catalogs as it is written)."""
    model = permission.content_type.model_class()
    if model is None:  # a content type whose model is gone
        return gettext(permission.name)
    action, _sep, model_name = permission.codename.partition("_")
    if action in ACTIONS and model_name == model._meta.model_name:
        return gettext(ACTIONS[action]) % {"model": model._meta.verbose_name}
    return gettext(permission.name)


def permission_label(permission: Permission) -> str:
    """Like ``str(permission)`` ("app | model | name"), in the active language."""
    model = permission.content_type.model_class()
    if model is None:
        return str(permission)
    return f"{model._meta.app_config.verbose_name} | {model._meta.verbose_name} | {permission_name(permission)}"


class TranslatedPermissions:
    """Permission fields of an auth admin labelled by ``permission_label``."""

    #: the model's permission field
    permission_field = "permissions"

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.remote_field.model is Permission:
            field.label_from_instance = permission_label
        return field

    def get_fieldsets(self, request, obj=None):
        """A read-only page shows ``permission_names`` instead of the stored English names."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        swap = {self.permission_field: "permission_names"}
        return [(name, {**options, "fields": [swap.get(f, f) for f in options.get("fields", ())]})
                for name, options in fieldsets]

    @admin.display(description=gettext_lazy("Permissions"))
    def permission_names(self, obj) -> str:
        permissions = getattr(obj, self.permission_field).select_related("content_type")
        return ", ".join(permission_label(p) for p in permissions)


class TranslatedUserAdmin(TranslatedPermissions, UserAdmin):
    permission_field = "user_permissions"


class TranslatedGroupAdmin(TranslatedPermissions, GroupAdmin):
    permission_field = "permissions"


def install() -> None:
    """Replace Django's user and group admins (called by inbox/admin.py)."""
    for model, model_admin in ((User, TranslatedUserAdmin), (Group, TranslatedGroupAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)
