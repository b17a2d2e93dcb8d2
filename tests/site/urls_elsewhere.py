"""A URL configuration with the overview elsewhere (tests/site/test_paths.py)."""

from django.http import HttpResponse
from django.urls import include, path


def page(request):
    return HttpResponse()


overview = ([path("elsewhere/", page, name="overview")], "registration")
urlpatterns = [path("", include(overview))]
