"""A job's evidence on the user's disk: artifacts downloaded, the HTML report written (CLI side)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from jobcore.models import ArtifactRef, JobView, SessionResult
from jobcore.report import render_report, screenshot_of
from jobcore.s3_layout import ARTIFACT_FILES
from traffic_tool.client import ApiClient, ApiClientError

err = Console(stderr=True, soft_wrap=True)


def download_artifacts(
    client: ApiClient, view: JobView, folder: Path, session: int | None = None
) -> list[Path]:
    """Every stored artifact (of one session, or all) into folder/<index>/<file>."""
    written: list[Path] = []
    for s in view.sessions:
        if session is not None and s.index != session:
            continue
        for artifact in s.artifacts:
            if artifact.url is None:
                continue
            path = folder / str(s.index) / ARTIFACT_FILES[artifact.name][0]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.download(artifact.url))
            written.append(path)
    return written


def write_report(client: ApiClient, view: JobView, path: Path, with_files: bool = False) -> None:
    """The report, failed sessions' screenshots embedded; with_files: artifacts beside it, linked
    relatively (the presigned links in the page otherwise expire with TRAFFIC_TOOL_ARTIFACT_URL_EXPIRY_S)."""
    shots: dict[int, bytes] = {}
    for s in view.sessions:
        ref = screenshot_of(s)
        if ref is not None and ref.url is not None:
            try:
                shots[s.index] = client.download(ref.url)
            except ApiClientError as exc:
                err.print(f"[yellow]warning:[/yellow] screenshot of session {s.index} left out: {exc}")
    folder = path.with_name(path.stem + "_files")
    if with_files:
        download_artifacts(client, view, folder)

    def link(s: SessionResult, a: ArtifactRef) -> str | None:
        if with_files and a.url:
            return f"{folder.name}/{s.index}/{ARTIFACT_FILES[a.name][0]}"
        return a.url

    path.write_text(render_report(view, shots, link), encoding="utf-8")
