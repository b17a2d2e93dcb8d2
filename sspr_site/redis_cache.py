"""The shared cache on Redis: Django's own backend, with its client made once per process.

Django's Redis backend builds a new client object for every call (about 0.1 ms each, some forty
times in a reset). This one keeps one per connection pool. `redis_client()` gives it to code that
needs several commands in one round trip (the sending limits: methods/ratelimit.py), with
`make_and_validate_key` naming keys as the cache itself does; `RedisScript` runs a Lua script
on such a client (the sending limits, counters, the messages' delivery records).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class CacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = CacheClient

    def redis_client(self):
        """The client that writes (the cache's first server)."""
        return self._cache.get_client(write=True)


class RedisScript:
    """A Lua script, run on whichever client the caller gives: registered with the first one
    (redis-py then sends its digest, and its source only when the server does not know it)."""

    def __init__(self, source: str):
        self.source = source
        self._registered = None

    def __call__(self, client, keys: list, args: list):
        if self._registered is None:
            self._registered = client.register_script(self.source)
        return self._registered(keys=keys, args=args, client=client)
