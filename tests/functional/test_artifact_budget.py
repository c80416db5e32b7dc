"""The per-job cap on artifact bytes, on a real Redis: shared by every worker, nothing taken past it."""

from __future__ import annotations

from jobcore import keys
from jobcore.artifact_budget import ArtifactBudget
from jobcore.redis_conn import connect
from jobcore.settings import Settings


def test_the_job_budget_refuses_past_its_cap_and_keeps_what_fits(settings: Settings) -> None:
    client = connect(settings)
    one, other = ArtifactBudget(client, ttl_s=60, cap=1000), ArtifactBudget(client, ttl_s=60, cap=1000)
    assert one.reserve("job-a", 600)
    assert not other.reserve("job-a", 500)  # another worker, the same job: 1100 would pass the cap
    assert other.reserve("job-a", 400)  # what still fits is taken
    assert not one.reserve("job-a", 1)
    assert one.reserve("job-b", 1000)  # each job has its own budget
    assert int(client.get(keys.artifact_bytes("job-a")) or 0) == 1000
    assert 0 < client.ttl(keys.artifact_bytes("job-a")) <= 60
