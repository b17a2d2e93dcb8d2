"""A bare view in a default project: the floor every page is compared with."""

from django.http import HttpResponse


def bare(request):
    return HttpResponse("<!DOCTYPE html><title>ok</title><p>ok</p>")
