"""The app's URLs plus the benchmark's baseline view."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def echo(request):
    """The least a Django POST view can do: read the body, answer JSON."""
    return JsonResponse({"received": len(request.body)})


urlpatterns = [
    path("bench/echo/", echo),
    path("", include("config.urls")),
]
