"""What a simulated fleet costs under the price file: worker tasks by pricing class, the API (API Gateway
and Lambda per request), the scheduled functions, Redis node-hours, the NAT gateway (hours and GB) and S3.
Each price comes from `jobcore/prices.json`; the usage figures that are assumptions are named here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jobcore.prices import PriceBook

_HOUR_S = 3600.0
EC2_INSTANCE_VCPU = 4  # t3.xlarge, the template's Ec2InstanceType


@dataclass(frozen=True)
class CostModel:
    capacity_mode: str = "fargate"  # or "ec2"
    baseline_pricing: str = "discounted"  # the baseline on a Savings Plan (Fargate) or reserved (EC2)
    sessions_per_job: float = 1.0  # POST /jobs amortised over a job's sessions
    polls_per_job: float = 2.0  # GET /jobs/{id} a client makes per job
    api_lambda_s: float = 0.05  # assumption: API function duration per request at 512 MB
    api_lambda_gb: float = 0.5
    redis_nodes: int = 2  # primary and replica
    nat_gateways: int = 1  # dev: 1; prod: one per AZ
    kb_per_session: float = 115.0
    archive_kb_per_session: float = 2.0  # assumption: gzip JSON of one session's result
    archive_days: float = 30.0


def task_hour_usd(prices: PriceBook, model: CostModel, vcpu: float, memory_gb: float, kind: str) -> float:
    """One worker task for an hour; kind is baseline, on_demand or spot."""
    if model.capacity_mode == "ec2":
        per_instance = max(1, math.floor(EC2_INSTANCE_VCPU / vcpu))
        name = {"spot": "ec2_t3_xlarge_spot_hour", "on_demand": "ec2_t3_xlarge_hour"}.get(kind)
        if name is None:
            discounted = model.baseline_pricing == "discounted"
            name = "ec2_t3_xlarge_reserved_hour" if discounted else "ec2_t3_xlarge_hour"
        return prices.usd(name) / per_instance
    if kind == "spot":
        return vcpu * prices.usd("fargate_spot_vcpu_hour") + memory_gb * prices.usd("fargate_spot_gb_hour")
    hourly = vcpu * prices.usd("fargate_vcpu_hour") + memory_gb * prices.usd("fargate_gb_hour")
    if kind == "baseline" and model.baseline_pricing == "discounted":
        hourly *= 1 - prices.usd("fargate_savings_plan_discount")
    return hourly


def fleet_cost(
    prices: PriceBook,
    model: CostModel,
    task_seconds: dict[str, float],
    vcpu: float,
    memory_gb: float,
    sessions: int,
    period_s: float,
) -> dict[str, float]:
    """USD by component for `sessions` served over `period_s` seconds."""
    hours = period_s / _HOUR_S
    tasks = sum(
        seconds / _HOUR_S * task_hour_usd(prices, model, vcpu, memory_gb, kind)
        for kind, seconds in task_seconds.items()
    )
    jobs = sessions / max(1e-9, model.sessions_per_job)
    requests = jobs * (1 + model.polls_per_job)
    scheduled = 2 * 60 * hours + hours  # scaler and reaper every minute, archiver hourly
    scheduled_gb_s = 2 * 60 * hours * 0.256 * 0.3 + hours * 1.0 * 5.0  # assumption: 0.3 s and 5 s runs
    api_lambda = (requests + scheduled) * prices.usd("lambda_request") + (
        requests * model.api_lambda_s * model.api_lambda_gb + scheduled_gb_s
    ) * prices.usd("lambda_gb_second")
    gigabytes = sessions * model.kb_per_session * 1024 / 1e9
    archive_gb = sessions * model.archive_kb_per_session * 1024 / 1e9
    parts = {
        "tasks": tasks,
        "api_gateway": requests * prices.usd("apigw_rest_request"),
        "lambda": api_lambda,
        "redis": model.redis_nodes * hours * prices.usd("elasticache_t4g_small_hour"),
        "nat": model.nat_gateways * hours * prices.usd("nat_gateway_hour")
        + gigabytes * prices.usd("nat_gateway_gb"),
        "s3": jobs * prices.usd("s3_put_request")
        + archive_gb * prices.usd("s3_gb_month") * model.archive_days / 30.0,
    }
    parts["total"] = sum(parts.values())
    return parts
