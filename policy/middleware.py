"""Each request reads the policy at most once (policy.models.Policy.load), and each other thing
sspr_site/request_memo.py lists."""

from __future__ import annotations

from sspr_site.request_memo import request_memo


class PolicyPerRequestMiddleware:
    """Gives each request its own memo; nothing read is kept from one request to the next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_memo.set({})
        try:
            return self.get_response(request)
        finally:
            request_memo.reset(token)
