"""`traffic-tool token NAME [--operator]`: make a bearer token; store only its SHA-256 hash (and role)."""

from __future__ import annotations

import getpass
import json
import secrets
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from jobcore.keys import check_tenant
from jobcore.tokens import Role, hash_token, secret_entry

err = Console(stderr=True, soft_wrap=True)


def audit_line(action: str, **what: object) -> str:
    """One JSON line naming who did what (never a token or its hash)."""
    record = {"audit": action, "by": getpass.getuser(), "at": datetime.now(UTC).isoformat(), **what}
    return json.dumps(record, sort_keys=True)


def token(
    tenant: Annotated[str, typer.Argument(help="the tenant the token names (A-Z a-z 0-9 _ . @ -)")],
    operator: Annotated[
        bool,
        typer.Option("--operator", help="the token also opens the operator routes (/fleet, dead letters)"),
    ] = False,
    secret: Annotated[
        str | None,
        typer.Option(help="the tokens secret in Secrets Manager (stack output TokensSecretArn) to add it to"),
    ] = None,
) -> None:
    """Print a new random token for TENANT; with --secret, add its hash to the deployed tokens secret."""
    try:
        check_tenant(tenant)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    role = Role.OPERATOR if operator else Role.TENANT
    value = secrets.token_urlsafe(32)
    entry = secret_entry(hash_token(value), role)
    if secret:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        client = boto3.client("secretsmanager")
        try:
            current = json.loads(client.get_secret_value(SecretId=secret)["SecretString"] or "{}")
            current[tenant] = entry
            client.put_secret_value(SecretId=secret, SecretString=json.dumps(current, sort_keys=True))
        except (BotoCoreError, ClientError, ValueError) as exc:
            err.print(f"[red]error:[/red] cannot update secret {secret}: {exc}")
            raise typer.Exit(code=1) from None
        err.print(
            f"added {tenant} ({role}) to {secret} (the authorizer picks it up within its 5-minute cache)"
        )
    else:
        err.print(f"add to the tokens secret: {json.dumps({tenant: entry})}")
    err.print(audit_line("token_created", name=tenant, role=role.value, secret=secret), highlight=False)
    print(value)
