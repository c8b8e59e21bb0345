"""Files the bot uploads: kept with their bytes and described the way Telegram describes them."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

from bot.localtelegram.protocol import JSON, UploadedFile

FileKind = Literal["photo", "document"]

# Telegram keeps a photo in several sizes; each is a PhotoSize with its own file_id.
_PHOTO_SIDES = (90, 320, 800, 1280)
_LARGEST_PHOTO_SIDE = 2560


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One uploaded file: its bytes and the object Telegram puts in the message."""

    kind: FileKind
    content: bytes
    file_name: str | None
    mime_type: str | None
    wire: Any  # a list of PhotoSize objects for a photo, a Document object for a document


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG image, or None when `data` is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return None


class FileStore:
    """Every file the bot has sent, findable by any of its file_ids."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._count = 0

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id, if the bot has sent it."""
        return self._by_id.get(file_id)

    def add_photo(self, upload: UploadedFile, width: int, height: int) -> StoredFile:
        """Keep an uploaded image and describe it as Telegram's array of PhotoSize."""
        self._count += 1
        scale_to = [side for side in _PHOTO_SIDES if side < max(width, height)]
        scale_to.append(min(max(width, height), _LARGEST_PHOTO_SIDE))
        sizes: list[JSON] = []
        for number, side in enumerate(scale_to):
            ratio = side / max(width, height, 1)
            sizes.append(
                {
                    **self._ids("photo", number),
                    "width": max(1, round(width * ratio)),
                    "height": max(1, round(height * ratio)),
                }
            )
        sizes[-1]["file_size"] = len(upload.content)
        stored = StoredFile("photo", upload.content, upload.filename, upload.mime_type, sizes)
        for size in sizes:
            self._by_id[size["file_id"]] = stored
        return stored

    def add_document(self, upload: UploadedFile) -> StoredFile:
        """Keep an uploaded file and describe it as Telegram's Document."""
        self._count += 1
        document: JSON = {
            "file_name": upload.filename,
            "mime_type": upload.mime_type,
            **self._ids("document", 0),
            "file_size": len(upload.content),
        }
        stored = StoredFile("document", upload.content, upload.filename, upload.mime_type, document)
        self._by_id[document["file_id"]] = stored
        return stored

    def _ids(self, kind: FileKind, number: int) -> dict[str, str]:
        """A fresh opaque file_id and file_unique_id, in the style of Telegram's."""

        def encode(text: str) -> str:
            return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

        return {
            "file_id": encode(f"localtelegram/{kind}/{self._count}/{number}"),
            "file_unique_id": encode(f"{self._count}.{number}"),
        }
