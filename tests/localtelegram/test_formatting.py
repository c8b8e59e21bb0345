"""Markup parsing matches Telegram's (cases taken from tdlib's own test suite)."""

from __future__ import annotations

import pytest

from bot.localtelegram.formatting import MarkupError, parse, trim, utf16_len


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("ab") == 2
    assert utf16_len("🏟") == 2
    assert utf16_len("➡️") == 2  # arrow + variation selector


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("plain &lt;3 &amp; &quot;x&quot; &unknown;", 'plain <3 & "x" &unknown;', []),
        ("🏟 🏟<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [("italic", 5, 6)]),
        ("<b>bold <i>both</i></b>", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
        ("<B>loud</B>", "loud", [("bold", 0, 4)]),
        ("<b></b>empty", "empty", []),
        ('<span class="tg-spoiler">x</span>', "x", [("spoiler", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("<i>a</>", "a", [("italic", 0, 1)]),
    ],
)
def test_html(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed_text, parsed = parse(source, "HTML")
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


def test_html_links_and_code_languages() -> None:
    text, entities = parse(
        '<a href="https://x.org/?a=1&amp;b=2">site</a> <pre><code class="language-python">'
        "print(1)</code></pre>",
        "html",
    )
    assert text == "site print(1)"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://x.org/?a=1&b=2"},
        {"type": "pre", "offset": 5, "length": 8, "language": "python"},
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba>", 'Can\'t find end tag corresponding to start tag "i"'),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units",
        ),
    ],
)
def test_html_errors(source: str, error: str) -> None:
    with pytest.raises(MarkupError) as raised:
        parse(source, "HTML")
    assert str(raised.value) == error


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("🏟 🏟_abac \\* asd _", "🏟 🏟abac * asd ", [("italic", 5, 11)]),
        ("🏟 🏟_🏟 *🏟*_", "🏟 🏟🏟 🏟", [("italic", 5, 5), ("bold", 8, 2)]),
        ("🏟 🏟_🏟 __🏟___", "🏟 🏟🏟 🏟", [("italic", 5, 5), ("underline", 8, 2)]),
        ("||test||", "test", [("spoiler", 0, 4)]),
        ("Done\\! 3 \\+ 4 \\= 7\\.", "Done! 3 + 4 = 7.", []),
        ("`a_b*c`", "a_b*c", [("code", 0, 5)]),
        ("```python\nx = 1\n```", "x = 1\n", [("pre", 0, 6)]),
        ("abc\n> \n> \n>\ndef", "abc\n \n \n\ndef", [("blockquote", 4, 5)]),
        ("[site](https://x.org/a\\)b)", "site", [("text_link", 0, 4)]),
    ],
)
def test_markdown_v2(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed_text, parsed = parse(source, "MarkdownV2")
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


def test_markdown_v2_keeps_link_urls_and_pre_languages() -> None:
    _, entities = parse("[site](https://x.org/a\\)b) ```py\nx```", "markdownv2")
    assert entities[0]["url"] == "https://x.org/a)b"
    assert entities[1]["language"] == "py"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Version 1.0", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a - b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("🏟 🏟_abacaba", "Can't find end of Italic entity at byte offset 9"),
        ("🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("🏟 🏟`", "Can't find end of Code entity at byte offset 9"),
        ("🏟 🏟```a", "Can't find end of Pre entity at byte offset 9"),
        ("🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"),
        ("🏟 🏟__", "Can't find end of Underline entity at byte offset 9"),
        ("[telegram\\.org](asd", "Can't find end of a URL at byte offset 16"),
    ],
)
def test_markdown_v2_errors(source: str, error: str) -> None:
    with pytest.raises(MarkupError) as raised:
        parse(source, "MarkdownV2")
    assert str(raised.value) == error


def test_legacy_markdown() -> None:
    text, entities = parse("*Hi* _there_ `x` [a](https://a.org) 1.5 - ok", "Markdown")
    assert text == "Hi there x a 1.5 - ok"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 2),
        ("italic", 3, 5),
        ("code", 9, 1),
        ("text_link", 11, 1),
    ]
    with pytest.raises(MarkupError, match="Can't find end of the entity starting at byte offset 3"):
        parse("hi *there", "Markdown")


def test_trim_strips_whitespace_and_moves_entities() -> None:
    text, entities = trim("\n  <b>hi</b>  \n", [])
    assert text == "<b>hi</b>"
    text, entities = trim("  hi there ", [{"type": "bold", "offset": 0, "length": 6}])
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 0, "length": 4}]
