"""Opening images safely (size bounds, clear problems) and making thumbnails for tables."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from core.store import Store

MAX_PIXELS = 64_000_000  # a 8000x8000 photo is fine; a 50,000x50,000 header is refused unread
THUMB_SIZE = 96


class ImageProblem(Exception):
    """This one image cannot be used; the row is flagged, the rest of the ingest goes on."""


@contextmanager
def _as_image_problem() -> Iterator[None]:
    """Pillow's many ways of refusing a file (missing, a decompression bomb, not an image, truncated) as
    one :class:`ImageProblem` with the reason in words."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except FileNotFoundError as exc:
        raise ImageProblem("image file not found") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageProblem(f"image is over the {MAX_PIXELS:,}-pixel limit (a decompression bomb?)") from exc
    except UnidentifiedImageError as exc:
        raise ImageProblem("not a readable image file") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageProblem(f"corrupt or truncated image ({exc})") from exc


def _check_size(image: Any) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageProblem(f"image is {width}x{height} pixels, over the {MAX_PIXELS:,}-pixel limit")


def load_image(path: str | Path) -> Any:
    """Open, bound-check and fully decode an image as RGB, or raise :class:`ImageProblem`."""
    with _as_image_problem():
        image = Image.open(path)
        _check_size(image)
        image.load()
        return image.convert("RGB")


def verify_image(path: str | Path) -> None:
    """Check an image cheaply (header, size bound and Pillow's structural check, no full decode), or
    raise :class:`ImageProblem` with the reason :func:`load_image` would give."""
    with _as_image_problem(), Image.open(path) as image:
        _check_size(image)
        image.verify()


def shown_path(image_path: str | None, root: str | Path | None) -> str:
    """An image's path as people should read it: relative to the dataset's image root (so the class
    folder stays: ``dog/train_2590.jpg``), or as stored when it lies outside the root."""
    if not image_path:
        return ""
    if root is not None:
        try:
            return Path(image_path).relative_to(root).as_posix()
        except ValueError:
            pass
    return str(image_path)


@dataclass(frozen=True)
class ImageRoots:
    """How an image dataset's paths are shown: each row from the folder its own ingest read (its job's
    ``image_root``), else from the dataset's image root.

    The dataset's root widens to the folder holding every ingest's folder when images are added from
    elsewhere (``/tmp`` for a ZIP unpacked in the workspace and a folder in ``/tmp/more``), which exports
    need to stay importable; shown from there, a row read ``hE_ws/media/123963d5…/frog/x.jpg`` and the
    file name was cut off. Shown from its own ingest's folder it reads ``frog/x.jpg``, as on Upload."""

    dataset: Path | None
    ingests: Mapping[int, Path] = field(default_factory=dict)

    def shown(self, image_path: str | None, job_id: int | None = None) -> str:
        """``image_path`` relative to the folder of the ingest ``job_id`` (else the dataset's root)."""
        own = self.ingests.get(job_id) if job_id is not None else None
        if own is not None and image_path and Path(image_path).is_relative_to(own):
            return shown_path(image_path, own)
        return shown_path(image_path, self.dataset)

    def of(self, row: Mapping[str, Any]) -> str:
        """A stored row's image path as shown (its ``job_id`` picks the ingest's folder)."""
        return self.shown(row.get("image_path"), row.get("job_id"))


def image_roots(store: Store, dataset_id: int) -> ImageRoots:
    """The folders an image dataset's paths are shown from (see :class:`ImageRoots`)."""
    return ImageRoots(store.image_root(dataset_id), store.ingest_image_roots(dataset_id))


def thumbnail_jpeg(image: Any, size: int = THUMB_SIZE) -> bytes:
    """A square-bounded JPEG; tiny images (CIFAR's 32x32) are upscaled so they can be seen."""
    thumb = image.copy()
    scale = size / max(thumb.size)
    resample = Image.Resampling.NEAREST if scale >= 2 else Image.Resampling.LANCZOS
    thumb = thumb.resize((max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale))), resample)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=85)
    return buf.getvalue()
