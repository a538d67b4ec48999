"""Camera folder watcher: each new image becomes a reading of tag ``<camera>.image``.

The reading's ``ref`` is the image path; its value is the inspection model's score (0-1, 0.5 at
the model's threshold) when the source names a ``model`` (an ``.aion`` file: ``station.py`` scores
the images, and ``threshold`` / ``heatmaps`` go with it), or when an image scorer is plugged into
the pipeline; 0.0 otherwise. A file is taken only once its size has stayed the same for
``settle_s`` (the camera finished writing it). The resume state is the newest modification time
taken and the names taken at that instant, so a restart skips them.
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path
from typing import Any

from aion.line.connectors.base import Connector
from aion.line.model import Batch, Reading

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def camera_name(source: str, camera: str = "") -> str:
    """Whose readings a camera source's photos are (``<camera>.image``): its ``camera`` option,
    else the source's own name (the machine an inspection model is deployed to).

    >>> camera_name("cam", "station"), camera_name("cam")
    ('station', 'cam')
    """
    return camera or source


class CameraFolderConnector(Connector):
    kind = "camera"

    def __init__(
        self,
        name: str,
        folder: str | Path,
        camera: str = "",
        settle_s: float = 0.5,
        scan_interval: float = 0.5,
        state: dict[str, Any] | None = None,
        model: str = "",
        threshold: float | None = None,
        heatmaps: str = "",
    ) -> None:
        super().__init__(name)
        self.folder = Path(folder)
        self.camera = camera_name(name, camera)
        # for the line's inspection station (``station.py``), which reads them; not used here
        self.model = model
        self.threshold = threshold
        self.heatmaps = heatmaps
        self.settle_s = settle_s
        self.scan_interval = scan_interval
        st = state or {}
        self.mark_ = float(st.get("mark", 0.0))
        self.at_mark_: set[str] = set(st.get("at_mark", []))
        self.committed_ = {"mark": self.mark_, "at_mark": sorted(self.at_mark_)}
        self.sizes_: dict[str, int] = {}
        self.next_scan_ = 0.0

    def next_batch(self, max_items: int = 1000) -> Batch:
        out = Batch()
        now = time.monotonic()
        if now < self.next_scan_:
            return out
        self.next_scan_ = now + self.scan_interval
        try:
            entries = [
                e for e in os.scandir(self.folder) if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES)
            ]
            self.connected_ = True
        except OSError as e:
            self.connected_ = False
            self.last_error_ = str(e)[:200]
            return out
        fresh = []
        for ent in entries:
            st = ent.stat()
            if st.st_mtime < self.mark_ or (st.st_mtime == self.mark_ and ent.name in self.at_mark_):
                continue
            if self.sizes_.get(ent.name) != st.st_size or time.time() - st.st_mtime < self.settle_s:
                self.sizes_[ent.name] = st.st_size  # still being written: look again next scan
                continue
            fresh.append((st.st_mtime, ent.name, ent.path))
        for mtime, fname, path in sorted(fresh)[:max_items]:
            seq = zlib.crc32(fname.encode())
            # the absolute path: the web app shows the photo whatever directory it runs in
            out.readings.append(
                Reading(f"{self.camera}.image", mtime, 0.0, seq, self.name, os.path.abspath(path))
            )
            self.sizes_.pop(fname, None)
            if mtime > self.mark_:
                self.mark_, self.at_mark_ = mtime, set()
            self.at_mark_.add(fname)
        return self._count(out)

    def commit(self) -> None:
        self.committed_ = {"mark": self.mark_, "at_mark": sorted(self.at_mark_)}

    def snapshot(self) -> dict[str, Any]:
        return dict(self.committed_)

    def close(self) -> None:
        self.connected_ = False
