"""Reports in the home's ``reports``: a local folder, or a prefix beside an object-store
lake (``s3://bucket/prefix/_reports``), served at a configurable URL.

``base_url`` (``DRIFTWARDEN_REPORTS_URL``) is where that folder is served over HTTP
(any static file server, or a bucket's website endpoint); unset, a report's URL is its
``file://`` URI, which a browser opens when typed or pasted but not from a link on the
Dagster UI's http page.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import dagster as dg

from monitoring_assets.core.alerts.scrub import strip_credentials
from monitoring_assets.core.lake_io import read_bytes, scheme, write_bytes
from monitoring_assets.core.names import check_model_name
from monitoring_assets.core.report_store import ReportStore, report_name

REPORTS_URL_ENV = "DRIFTWARDEN_REPORTS_URL"


class ObjectReportStore:
    """:class:`~monitoring_assets.core.report_store.ReportStore` under an object-store
    prefix (the lake's filesystem, opened for it): each report is one whole upload."""

    def __init__(self, root: str, base_url: str = ""):
        self.root = root.rstrip("/")
        self.base_url = base_url
        self._opened = False

    def _open(self) -> None:
        """Open the object store once, on first read or write (a URL needs no store):
        registers the scheme's filesystem; an unreachable store fails naming the URL."""
        if not self._opened:
            from resources.lake import open_lake

            open_lake(self.root)
            self._opened = True

    def _location(self, model: str, name: str) -> str:
        check_model_name(model)
        return f"{self.root}/{model}/{report_name(name)}"

    def write_html(self, model: str, name: str, html: str) -> str:
        self._open()
        return write_bytes(self._location(model, name), html.encode("utf-8"))

    def url(self, model: str, name: str) -> str:
        location = self._location(model, name)
        if self.base_url:
            base = strip_credentials(self.base_url).rstrip("/")
            return f"{base}/{quote(model)}/{quote(location.rsplit('/', 1)[-1])}"
        return location

    def exists(self, model: str, name: str) -> bool:
        self._open()
        return read_bytes(self._location(model, name)) is not None


class LocalReportStore:
    """:class:`~monitoring_assets.core.report_store.ReportStore` on a local folder."""

    def __init__(self, root: str | Path, base_url: str = ""):
        self.root = Path(root)
        self.base_url = base_url

    def _path(self, model: str, name: str) -> Path:
        check_model_name(model)
        return self.root / model / report_name(name)

    def write_html(self, model: str, name: str, html: str) -> str:
        # readable by the server that serves the folder
        return write_bytes(self._path(model, name), html.encode("utf-8"), mode=0o644)

    def url(self, model: str, name: str) -> str:
        path = self._path(model, name)
        if self.base_url:
            base = strip_credentials(self.base_url).rstrip("/")
            return f"{base}/{quote(model)}/{quote(path.name)}"
        return path.resolve().as_uri()

    def exists(self, model: str, name: str) -> bool:
        return self._path(model, name).exists()


class ReportStoreResource(dg.ConfigurableResource):
    """``root``: the reports folder; ``base_url``: where it is served (may be empty)."""

    root: str
    base_url: str = ""

    @classmethod
    def for_folder(cls, root: str | Path) -> ReportStoreResource:
        return cls(root=str(root), base_url=os.environ.get(REPORTS_URL_ENV, ""))

    def get(self) -> ReportStore:
        if scheme(self.root) is not None:
            return ObjectReportStore(self.root, self.base_url)
        return LocalReportStore(self.root, self.base_url)
