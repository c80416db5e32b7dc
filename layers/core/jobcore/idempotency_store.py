"""Powertools' Redis persistence layer for idempotency records, with the validation hash kept.

Powertools' `RedisCachePersistenceLayer._update_record` rewrites the record on
completion without the payload-validation hash, so an identical retry of a
completed request fails validation (the same bug as powertools-lambda-typescript
#5705, fixed there by writing the hash on completion too). This subclass writes it.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import redis
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from aws_lambda_powertools.utilities.idempotency.persistence.redis import RedisCachePersistenceLayer


# Subclassing a class marked @deprecated warns at class creation; the warning is about its name only.
warnings.filterwarnings("ignore", message="RedisPersistenceLayer", category=DeprecationWarning)
warnings.filterwarnings("ignore", message="RedisCachePersistenceLayer", category=DeprecationWarning)


class IdempotencyStore(RedisCachePersistenceLayer):
    def __init__(self, client: redis.Redis) -> None:
        with warnings.catch_warnings():  # the class is being renamed CachePersistenceLayer; same code
            warnings.simplefilter("ignore", DeprecationWarning)
            super().__init__(client=cast(Any, client))

    def _update_record(self, data_record: DataRecord) -> None:
        item: dict[str, Any] = {
            self.data_attr: data_record.response_data,
            self.status_attr: data_record.status,
            self.expiry_attr: data_record.expiry_timestamp,
        }
        if self.payload_validation_enabled:
            item[self.validation_key_attr] = data_record.payload_hash
        ttl = self._get_expiry_second(data_record.expiry_timestamp)
        self.client.set(name=data_record.idempotency_key, value=self._json_serializer(item), ex=ttl)
