"""An in-process moto server standing in for S3 and CloudWatch in the local stack."""

from __future__ import annotations

import logging

import boto3
from moto.server import ThreadedMotoServer

from jobcore.settings import settings_env
from traffic_tool.local.redis_process import free_port

LOCAL_REGION = "us-east-1"


class LocalAws:
    def __init__(self, bucket: str = "traffic-tool-local") -> None:
        self.bucket = bucket
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What every process of the stack needs so boto3 talks to moto, never to AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            **settings_env(bucket=self.bucket),
        }

    def start(self) -> LocalAws:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the stack's output
        self.server.start()
        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106
        )
        s3.create_bucket(Bucket=self.bucket)
        return self

    def stop(self) -> None:
        self.server.stop()
