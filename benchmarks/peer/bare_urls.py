from django.urls import path

from .bare import bare

urlpatterns = [path("", bare)]
