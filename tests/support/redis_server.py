"""Tests start the same redis-server the local stack does."""

from traffic_tool.local.redis_process import RedisServer, free_port

__all__ = ["RedisServer", "free_port"]
