"""The template's guarantees, run with the reliability suite from where they live.

The checks are tests/unit/test_template.py's (they also run with `make test`); importing them here
makes `make test-reliability` prove the whole list without a second copy of each check:
the Redis parameter group says noeviction; the replication group is Multi-AZ with a replica, TLS
and AUTH; the results bucket blocks public access and expires objects after 30 days; no IAM
statement grants `*` on `*`.
"""

from __future__ import annotations

from tests.unit.test_template import (
    template,
    test_no_statement_grants_everything_on_everything,
    test_parameter_group_never_evicts,
    test_replication_group_is_multi_az_with_replica_tls_and_auth,
    test_results_bucket_is_encrypted_private_and_expires,
)

__all__ = [
    "template",
    "test_no_statement_grants_everything_on_everything",
    "test_parameter_group_never_evicts",
    "test_replication_group_is_multi_az_with_replica_tls_and_auth",
    "test_results_bucket_is_encrypted_private_and_expires",
]
