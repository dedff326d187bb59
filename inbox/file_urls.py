from django.urls import path

from . import files

app_name = "files"
urlpatterns = [
    path("<int:pk>/", files.attachment_download, name="attachment"),
    path("s/<str:token>/", files.signed_download, name="signed"),
]
