"""`traffic-tool token TENANT`: make a tenant's bearer token; store only its SHA-256 hash."""

from __future__ import annotations

import json
import secrets
from typing import Annotated

import typer
from rich.console import Console

from jobcore.keys import check_tenant
from jobcore.tokens import hash_token

err = Console(stderr=True, soft_wrap=True)


def token(
    tenant: Annotated[str, typer.Argument(help="the tenant the token names (A-Z a-z 0-9 _ . @ -)")],
    secret: Annotated[
        str | None,
        typer.Option(
            help="the tokens secret in Secrets Manager (stack output TokensSecretName) to add it to"
        ),
    ] = None,
) -> None:
    """Print a new random token for TENANT; with --secret, add its hash to the deployed tokens secret."""
    try:
        check_tenant(tenant)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    value = secrets.token_urlsafe(32)
    if secret:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("secretsmanager")
        try:
            current = json.loads(client.get_secret_value(SecretId=secret)["SecretString"] or "{}")
            current[tenant] = hash_token(value)
            client.put_secret_value(SecretId=secret, SecretString=json.dumps(current, sort_keys=True))
        except (BotoCoreError, ClientError, ValueError) as exc:
            err.print(f"[red]error:[/red] cannot update secret {secret}: {exc}")
            raise typer.Exit(code=1) from None
        err.print(f"added {tenant} to {secret} (the authorizer picks it up within its 5-minute cache)")
    else:
        err.print(f"add to the tokens secret: {json.dumps({tenant: hash_token(value)})}")
    print(value)
