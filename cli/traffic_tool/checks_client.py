"""The /checks and /webhooks calls of the API client (the CLI's `checks` and `webhooks` commands)."""

from __future__ import annotations

from typing import Any

from jobcore.check_models import (
    CheckList,
    CheckRunAccepted,
    CheckView,
    DeliveryAccepted,
    DeliveryList,
    WebhookCreated,
    WebhookList,
)
from traffic_tool.client import ApiClient


class ChecksClient(ApiClient):
    def create_check(self, body: dict[str, Any]) -> CheckView:
        return CheckView.model_validate(self._call("POST", "/checks", json=body))

    def list_checks(self) -> CheckList:
        return CheckList.model_validate(self._call("GET", "/checks"))

    def get_check(self, check_id: str) -> CheckView:
        return CheckView.model_validate(self._call("GET", f"/checks/{check_id}"))

    def patch_check(self, check_id: str, body: dict[str, Any]) -> CheckView:
        return CheckView.model_validate(self._call("PATCH", f"/checks/{check_id}", json=body))

    def delete_check(self, check_id: str) -> None:
        self._call("DELETE", f"/checks/{check_id}")

    def run_check(self, check_id: str) -> CheckRunAccepted:
        return CheckRunAccepted.model_validate(self._call("POST", f"/checks/{check_id}/run"))

    def create_webhook(self, url: str, events: list[str]) -> WebhookCreated:
        return WebhookCreated.model_validate(
            self._call("POST", "/webhooks", json={"url": url, "events": events})
        )

    def list_webhooks(self) -> WebhookList:
        return WebhookList.model_validate(self._call("GET", "/webhooks"))

    def deliveries(self, webhook_id: str, status: str | None = None) -> DeliveryList:
        params = {"status": status} if status else None
        return DeliveryList.model_validate(
            self._call("GET", f"/webhooks/{webhook_id}/deliveries", params=params)
        )

    def test_webhook(self, webhook_id: str) -> DeliveryAccepted:
        return DeliveryAccepted.model_validate(self._call("POST", f"/webhooks/{webhook_id}/test"))
