"""Opening images safely (size bounds, clear problems) and making thumbnails for tables."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 64_000_000  # a 8000x8000 photo is fine; a 50,000x50,000 header is refused unread
THUMB_SIZE = 96


class ImageProblem(Exception):
    """This one image cannot be used; the row is flagged, the rest of the ingest goes on."""


def load_image(path: str | Path) -> Any:
    """Open, bound-check and fully decode an image as RGB, or raise :class:`ImageProblem`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageProblem(f"image is {width}x{height} pixels, over the {MAX_PIXELS:,}-pixel limit")
            image.load()
            return image.convert("RGB")
    except FileNotFoundError as exc:
        raise ImageProblem("image file not found") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageProblem(f"image is over the {MAX_PIXELS:,}-pixel limit (a decompression bomb?)") from exc
    except UnidentifiedImageError as exc:
        raise ImageProblem("not a readable image file") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageProblem(f"corrupt or truncated image ({exc})") from exc


def verify_image(path: str | Path) -> None:
    """Check an image cheaply (header, size bound and Pillow's structural check, no full decode), or
    raise :class:`ImageProblem` with the reason :func:`load_image` would give."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageProblem(f"image is {width}x{height} pixels, over the {MAX_PIXELS:,}-pixel limit")
                image.verify()
    except FileNotFoundError as exc:
        raise ImageProblem("image file not found") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageProblem(f"image is over the {MAX_PIXELS:,}-pixel limit (a decompression bomb?)") from exc
    except UnidentifiedImageError as exc:
        raise ImageProblem("not a readable image file") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageProblem(f"corrupt or truncated image ({exc})") from exc


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


def thumbnail_jpeg(image: Any, size: int = THUMB_SIZE) -> bytes:
    """A square-bounded JPEG; tiny images (CIFAR's 32x32) are upscaled so they can be seen."""
    thumb = image.copy()
    scale = size / max(thumb.size)
    resample = Image.Resampling.NEAREST if scale >= 2 else Image.Resampling.LANCZOS
    thumb = thumb.resize((max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale))), resample)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=85)
    return buf.getvalue()
