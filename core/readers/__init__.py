"""Read a file, an image ZIP or an image folder into one table of strings.

Every reader returns a :class:`Table`: a DataFrame whose cells are strings (so ids like "007"
and labels like "1" stay as written) plus notes on what was detected. Problems raise
:class:`InputError` with a message naming the file and the fix; nothing is stored here.

The package: ``table`` (the ``Table`` and the accepted suffixes), ``files`` (one table file, read
by its extension; Parquet and Excel), ``delimited`` (CSV/TSV/TXT: encoding, delimiter, header),
``jsonl`` (JSON Lines and JSON arrays), ``columns`` (string cells, repeated column names) and
``images`` (image folders and ZIPs). Import from ``core.readers``.
"""

from core.readers.columns import duplicate_columns_warning
from core.readers.delimited import COMMON_COLUMN_NAMES, SAMPLE_BYTES, decode_bytes, detect_header
from core.readers.files import check_upload_name, read_table, sidecar_class_names
from core.readers.images import ZipLimits, read_image_folder, read_image_zip, safe_extract_zip, zip_root
from core.readers.table import IMAGE_SUFFIXES, TABLE_SUFFIXES, UPLOAD_SUFFIXES, Table

__all__ = [
    "COMMON_COLUMN_NAMES",
    "IMAGE_SUFFIXES",
    "SAMPLE_BYTES",
    "TABLE_SUFFIXES",
    "UPLOAD_SUFFIXES",
    "Table",
    "ZipLimits",
    "check_upload_name",
    "decode_bytes",
    "detect_header",
    "duplicate_columns_warning",
    "read_image_folder",
    "read_image_zip",
    "read_table",
    "safe_extract_zip",
    "sidecar_class_names",
    "zip_root",
]
