r"""Make untrusted text safe for a terminal: control characters become visible escapes.

Everything the model, the server or a tool sends (reasoning, answer, tool names, arguments and
results, error messages) passes through `sanitize` before `glm-chat` draws it. A terminal acts
on C0/C1 control characters: ``ESC`` starts CSI, OSC and DCS sequences (clear the screen, set
the clipboard with OSC 52, fake a link with OSC 8), and the 8-bit C1 codes do the same without
``ESC``; bidi overrides reorder what is shown (Trojan Source, https://trojansource.codes/).
Each such character is replaced by its Python escape (``\x1b``, ``\u202e``), so the
sequence is shown, never obeyed. The mapping works character by character, so text may be
sanitized in stream deltas, whatever the split.
"""

from __future__ import annotations

import re

KEPT = "\n\t"
"""Control characters written as they are."""

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Bidirectional formatting characters (https://www.unicode.org/reports/tr9/#Directional_Formatting_Characters)."""


def _unsafe_pattern() -> re.Pattern[str]:
    """C0 (but newline and tab), DEL, C1, line/paragraph separators and bidi controls."""
    c0 = "".join(chr(c) for c in range(0x20) if chr(c) not in KEPT)
    c1 = "".join(chr(c) for c in range(0x7F, 0xA0))
    return re.compile(f"[{re.escape(c0 + c1 + BIDI_CONTROLS)}\u2028\u2029]")


_UNSAFE = _unsafe_pattern()


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(text: str) -> str:
    r"""Replace every character a terminal would act on by a visible escape.

    Args:
        text: Untrusted text (whole, or one stream delta).

    Returns:
        The text with CRLF as a newline, C0 controls other than newline and tab, DEL, C1
        controls, U+2028/9 and bidi controls written as ``\xNN`` / ``\uNNNN``; the rest as is.

    Example:
        ```python
        from langchain_glm.cli._sanitize import sanitize

        assert sanitize("a\x1b]52;c;aGk=\x07b\n") == "a\\x1b]52;c;aGk=\\x07b\n"
        assert sanitize("\x9b2J \u202eevil") == "\\x9b2J \\u202eevil"
        assert sanitize("[bold red]kept[/]") == "[bold red]kept[/]"
        ```
    """
    return _UNSAFE.sub(_visible, text.replace("\r\n", "\n"))
