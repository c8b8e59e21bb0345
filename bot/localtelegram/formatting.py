"""Telegram's text formatting: turning HTML or Markdown markup into plain text plus entities.

Follows Telegram's server (tdlib) closely enough that the mistakes which break real bots break
here too: an unescaped '.' in MarkdownV2, an unsupported <br> tag in HTML, a tag left open.
Offsets and lengths are counted in UTF-16 code units, as the Bot API counts them.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

PARSE_MODES = ("html", "markdownv2", "markdown")


class MarkupError(ValueError):
    """The markup cannot be parsed; the message is Telegram's own wording."""


def utf16_len(text: str) -> int:
    """How long `text` is in UTF-16 code units (what entity offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, parse_mode: str) -> tuple[str, list[Entity]]:
    """Plain text and entities for `text` in `parse_mode` (one of PARSE_MODES, any case)."""
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise ValueError(f"unsupported parse mode {parse_mode!r}")


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip surrounding whitespace like Telegram does, moving and clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


@dataclass(slots=True)
class _Output:
    """Plain text being built, with its UTF-16 length and the entities found so far."""

    chunks: list[str] = field(default_factory=list)
    position: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.chunks.append(text)
        self.position += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.position > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.position - start, **extra}
            )

    def result(self) -> tuple[str, list[Entity]]:
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.chunks), self.entities


# ---- HTML -----------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_SPECIAL = re.compile("[<&]")
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str]
    language: str | None = None


def _decode_html_entity(source: str, index: int) -> tuple[str, int]:
    """The text an '&...' reference at `index` stands for, and where parsing continues."""
    end = index + 1
    if source.startswith("#", end):
        end += 1
        base, digits = 10, string.digits
        if source[end : end + 1] in ("x", "X"):
            base, digits = 16, string.hexdigits
            end += 1
        number_start = end
        while end < len(source) and source[end] in digits:
            end += 1
        if end == number_start:
            return "&", index + 1
        code = int(source[number_start:end], base)
        if code > 0x10FFFF:
            return "&", index + 1
        if 0xD800 <= code <= 0xDFFF:
            raise MarkupError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        return chr(code), end + 1 if source.startswith(";", end) else end
    while end < len(source) and source[end].isascii() and source[end].isalpha():
        end += 1
    decoded = _HTML_NAMED_ENTITIES.get(source[index + 1 : end])
    if decoded is None:
        return "&", index + 1
    return decoded, end + 1 if source.startswith(";", end) else end


def _decode_html_text(text: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(text):
        if text[index] == "&":
            decoded, index = _decode_html_entity(text, index)
            parts.append(decoded)
        else:
            parts.append(text[index])
            index += 1
    return "".join(parts)


def _read_name(source: str, index: int) -> int:
    while index < len(source) and source[index] in _NAME_CHARS:
        index += 1
    return index


def _skip_spaces(source: str, index: int) -> int:
    while index < len(source) and source[index].isspace():
        index += 1
    return index


def _read_start_tag(source: str, begin: int) -> tuple[_OpenTag, int]:
    """Parse '<name attr=value ...>' at `begin`; the tag and the index after '>'."""
    name_end = _read_name(source, begin + 1)
    if name_end == len(source):
        raise MarkupError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
    name = source[begin + 1 : name_end].lower()
    if name not in _HTML_TAGS:
        raise MarkupError(
            f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, begin)}'
        )
    attributes: dict[str, str] = {}
    index = name_end
    while True:
        index = _skip_spaces(source, index)
        if index == len(source):
            raise MarkupError(
                f'Unclosed start tag "{name}" at byte offset {_byte_offset(source, begin)}'
            )
        if source[index] == ">":
            return _OpenTag(name, 0, attributes), index + 1
        attribute_end = _read_name(source, index)
        if attribute_end == index:
            raise MarkupError(
                f'Empty attribute name in the tag "{name}" at byte offset '
                f"{_byte_offset(source, begin)}"
            )
        attribute = source[index:attribute_end].lower()
        index = _skip_spaces(source, attribute_end)
        if not source.startswith("=", index):
            attributes[attribute] = ""
            continue
        index = _skip_spaces(source, index + 1)
        if index == len(source):
            raise MarkupError(
                f'Unclosed start tag "{name}" at byte offset {_byte_offset(source, begin)}'
            )
        if source[index] in "\"'":
            close = source.find(source[index], index + 1)
            if close == -1:
                raise MarkupError(
                    f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
                )
            attributes[attribute] = _decode_html_text(source[index + 1 : close])
            index = close + 1
        else:
            value_end = index
            while value_end < len(source) and not source[value_end].isspace():
                if source[value_end] == ">":
                    break
                value_end += 1
            if value_end == len(source):
                raise MarkupError(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, index)}"
                )
            attributes[attribute] = source[index:value_end]
            index = value_end


def _close_html_tag(output: _Output, tag: _OpenTag, stack: list[_OpenTag]) -> None:
    kind = _HTML_TAGS[tag.name]
    extra: dict[str, str] = {}
    if tag.name == "a":
        if not tag.attributes.get("href"):
            return
        extra["url"] = tag.attributes["href"]
    elif tag.name == "tg-emoji":
        extra["custom_emoji_id"] = tag.attributes.get("emoji-id", "")
    elif tag.name == "blockquote" and "expandable" in tag.attributes:
        kind = "expandable_blockquote"
    elif tag.name == "code":
        language = tag.attributes.get("class", "").removeprefix("language-")
        if language and stack and stack[-1].name == "pre":
            stack[-1].language = language  # <pre><code class="language-x"> is one pre entity
            return
    elif tag.name == "pre" and tag.language:
        extra["language"] = tag.language
    output.entity(kind, tag.start, **extra)


def _parse_html(source: str) -> tuple[str, list[Entity]]:
    output = _Output()
    stack: list[_OpenTag] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            decoded, index = _decode_html_entity(source, index)
            output.add(decoded)
        elif char != "<":
            special = _HTML_SPECIAL.search(source, index)
            end = special.start() if special else len(source)
            output.add(source[index:end])
            index = end
        elif source.startswith("</", index):
            index = _read_end_tag(source, index, output, stack)
        else:
            tag, index = _read_start_tag(source, index)
            if tag.name == "span" and tag.attributes.get("class") != "tg-spoiler":
                raise MarkupError('Tag "span" must have class "tg-spoiler"')
            tag.start = output.position
            stack.append(tag)
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return output.result()


def _read_end_tag(source: str, begin: int, output: _Output, stack: list[_OpenTag]) -> int:
    """Parse '</name>' at `begin`, closing the innermost open tag; the index after '>'."""
    if not stack:
        raise MarkupError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
    name_end = _read_name(source, begin + 2)
    close = _skip_spaces(source, name_end)
    if not source.startswith(">", close):
        raise MarkupError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
    name = source[begin + 2 : name_end].lower()
    tag = stack[-1]
    if name and name != tag.name:
        raise MarkupError(
            f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
            f'expected "</{tag.name}>", found "</{name}>"'
        )
    stack.pop()
    _close_html_tag(output, tag, stack)
    return close + 1


# ---- MarkdownV2 -----------------------------------------------------------------------------

_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_PLAIN_RUN = re.compile(r"[^_*\[\]()~`>#+\-=|{}.!\\\r\n]+")
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


@dataclass(slots=True)
class _OpenMark:
    kind: str
    start: int
    byte_offset: int
    language: str = ""


def _md2_closer(kind: str, source: str, index: int) -> int:
    """How many characters close a `kind` entity at `index` (0 if they do not)."""
    char = source[index]
    if kind == "bold":
        return 1 if char == "*" else 0
    if kind == "italic":
        return 1 if char == "_" and not source.startswith("__", index) else 0
    if kind == "underline":
        return 2 if source.startswith("__", index) else 0
    if kind == "strikethrough":
        return 1 if char == "~" else 0
    if kind == "spoiler":
        return 2 if source.startswith("||", index) else 0
    if kind == "text_link":
        return 1 if char == "]" else 0
    return 0


def _md2_opener(source: str, index: int) -> tuple[str, int] | None:
    """The entity a reserved character at `index` opens and its marker length, if any."""
    char = source[index]
    if char == "_":
        return ("underline", 2) if source.startswith("__", index) else ("italic", 1)
    if char == "|" and source.startswith("||", index):
        return "spoiler", 2
    single = {"*": "bold", "~": "strikethrough", "[": "text_link", "`": "code"}
    if char in single:
        return single[char], 1
    return None


def _read_md2_url(source: str, open_paren: int) -> tuple[str, int]:
    """The URL in '(url)' at `open_paren` (with '\\' escapes) and the index after ')'."""
    index = open_paren + 1
    url: list[str] = []
    while index < len(source) and source[index] != ")":
        if source[index] == "\\" and index + 1 < len(source):
            index += 1
        url.append(source[index])
        index += 1
    if index == len(source):
        raise MarkupError(
            f"Can't find end of a URL at byte offset {_byte_offset(source, open_paren + 1)}"
        )
    return "".join(url), index + 1


def _parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    output = _Output()
    stack: list[_OpenMark] = []
    quote_start: int | None = None
    index = 0
    while index < len(source):
        char = source[index]
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if not in_code and (index == 0 or source[index - 1] in "\r\n"):
            if char == ">":
                quote_start = output.position if quote_start is None else quote_start
                index += 1
                continue
            if quote_start is not None:
                output.entity("blockquote", quote_start)
                quote_start = None
        if char == "\\" and index + 1 < len(source) and 0 < ord(source[index + 1]) < 127:
            output.add(source[index + 1])
            index += 2
            continue
        if in_code:
            index = _md2_code_char(source, index, output, stack)
            continue
        if char not in _MD2_RESERVED:
            plain = _MD2_PLAIN_RUN.match(source, index)
            end = plain.end() if plain else index + 1
            output.add(source[index:end])
            index = end
            continue
        closing = _md2_closer(stack[-1].kind, source, index) if stack else 0
        if closing:
            index = _close_md2_mark(source, index + closing, output, stack.pop())
            continue
        opener = _md2_opener(source, index)
        if opener is None:
            raise MarkupError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        kind, width = opener
        mark = _OpenMark(kind, output.position, _byte_offset(source, index))
        if kind == "code" and source.startswith("```", index):
            mark.kind = "pre"
            mark.language, width = _read_pre_language(source, index)
        stack.append(mark)
        index += width
    if quote_start is not None:
        output.entity("blockquote", quote_start)
    if stack:
        mark = stack[-1]
        name = "PreCode" if mark.kind == "pre" and mark.language else _MD2_NAMES[mark.kind]
        raise MarkupError(f"Can't find end of {name} entity at byte offset {mark.byte_offset}")
    return output.result()


def _read_pre_language(source: str, index: int) -> tuple[str, int]:
    """The language named right after '```' at `index`, and how many characters to skip.

    The language runs up to the first whitespace; a line break after it is swallowed.
    """
    end = index + 3
    while end < len(source) and not source[end].isspace() and not source.startswith("```", end):
        end += 1
    if end == len(source) or not source[end].isspace():
        return "", 3
    language = source[index + 3 : end]
    if source[end] in "\r\n":
        end += 2 if source[end : end + 2] in ("\r\n", "\n\r") else 1
    return language, end - index


def _md2_code_char(source: str, index: int, output: _Output, stack: list[_OpenMark]) -> int:
    """Handle one character inside code or pre, where only '`' is special."""
    mark = stack[-1]
    if mark.kind == "code" and source[index] == "`":
        stack.pop()
        output.entity("code", mark.start)
        return index + 1
    if mark.kind == "pre" and source.startswith("```", index):
        stack.pop()
        extra = {"language": mark.language} if mark.language else {}
        output.entity("pre", mark.start, **extra)
        return index + 3
    output.add(source[index])
    return index + 1


def _close_md2_mark(source: str, index: int, output: _Output, mark: _OpenMark) -> int:
    """Record the entity `mark` opened, now that its closing marker ends before `index`."""
    if mark.kind != "text_link":
        output.entity(mark.kind, mark.start)
        return index
    if not source.startswith("(", index):
        return index
    url, index = _read_md2_url(source, index)
    if url:
        output.entity("text_link", mark.start, url=url)
    return index


# ---- legacy Markdown ------------------------------------------------------------------------

_MARKDOWN_MARKS = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}


def _parse_markdown(source: str) -> tuple[str, list[Entity]]:
    output = _Output()
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and source[index + 1 : index + 2] in ("_", "*", "`", "["):
            output.add(source[index + 1])
            index += 2
            continue
        if char not in _MARKDOWN_MARKS:
            output.add(char)
            index += 1
            continue
        unclosed = MarkupError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(source, index)}"
        )
        start = output.position
        if source.startswith("```", index):
            end = source.find("```", index + 3)
            if end == -1:
                raise unclosed
            output.add(source[index + 3 : end])
            output.entity("pre", start)
            index = end + 3
        elif char == "[":
            end = source.find("](", index + 1)
            close = source.find(")", end + 2) if end != -1 else -1
            if close == -1:
                raise unclosed
            output.add(source[index + 1 : end])
            output.entity("text_link", start, url=source[end + 2 : close])
            index = close + 1
        else:
            end = source.find(char, index + 1)
            if end == -1:
                raise unclosed
            output.add(source[index + 1 : end])
            output.entity(_MARKDOWN_MARKS[char], start)
            index = end + 1
    return output.result()
