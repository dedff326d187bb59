from django.urls import path

from . import views

app_name = "bot"
urlpatterns = [
    path("", views.answers_list, name="home"),
    path("answers/", views.answers_list, name="answers"),
    path("answers/new/", views.answer_new, name="answer-new"),
    path("answers/import/", views.answers_import, name="import"),
    path("answers/export.<str:fmt>", views.answers_export, name="export"),
    path("console/", views.console, name="console"),
    path("unanswered/", views.unanswered, name="unanswered"),
    path("unanswered/add-variant/", views.unanswered_add_variant, name="unanswered-add-variant"),
    path("unanswered/dismiss/", views.unanswered_dismiss, name="unanswered-dismiss"),
    path("api/console/", views.console_api, name="console-api"),
    path("api/quick-replies/", views.quick_replies_api, name="quick-replies"),
]
