from django.urls import include, path
from two_factor.urls import urlpatterns as tf_urls

from .bare import bare

urlpatterns = [path("bare/", bare), path("", include(tf_urls))]
