"""Translation catalogues, compiled with Babel so no GNU gettext is needed; Chinese punctuation.

    python -m refunddesk.core.i18n compile   # .po -> .mo for every catalogue
    python -m refunddesk.core.i18n check     # list msgids with no zh-Hans translation

Chinese text is written with full-width punctuation (,:;?!() and 。). `zh_punctuation` puts it right in
text an author wrote with the half-width marks of an English keyboard; it runs on every zh-Hans
translation when the catalogue is compiled (the .po is only ever appended to, so entries written
earlier are corrected here rather than rewritten) and on the Chinese texts of policy documents when
they are loaded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def is_zh(language: str | None) -> bool:
    """Whether a language code (zh-Hans, zh-hans, zh-CN, zh ...) asks for Chinese; anything else is English."""
    return (language or "").lower().startswith("zh")


# --- Chinese punctuation ---------------------------------------------------------------------------

#: half-width mark -> its full-width form in Chinese text
FULL_WIDTH = {",": "\uff0c", ":": "\uff1a", ";": "\uff1b", "?": "\uff1f", "!": "\uff01", "(": "\uff08",
              ")": "\uff09"}
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u2014\u201c\u201d]")
# kept exactly as written: placeholders of Python (%(name)s, %s, %%), of policy explanations ({order.refunded})
# and of Django templates ({{ x }}, {% tag %}), addresses (https://..., someone@example.com)
_KEEP = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdifgeEr]|%[sdif%]|\{%.*?%\}|\{\{.*?\}\}|\{[^{}\s]*\}"
                   r"|[a-z][a-z0-9+.-]*://[!-~]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _is_cjk(char: str) -> bool:
    return bool(char) and _CJK.match(char) is not None


def zh_punctuation(text: str) -> str:
    """Chinese text with full-width punctuation: a half-width , : ; ? ! ( ) beside a Chinese character,
    or beside a placeholder written against Chinese text, becomes its full-width form (FULL_WIDTH); a
    half-width . ending a sentence after a Chinese character becomes 。; a space typed after such a mark
    goes. A mark written right after a placeholder counts as Chinese too. A pair of parentheses is
    converted together.

    Left as written: placeholders (`%(name)s`, `{order.refunded}`, `{{ x }}`, `{% tag %}`), addresses,
    numbers ("21:56", "1,000", "3.5"), and marks with no Chinese on either side. Idempotent."""
    pieces: list[tuple[str, bool]] = []  # one character, or a kept span (True)
    pos = 0
    for m in _KEEP.finditer(text):
        pieces.extend((c, False) for c in text[pos : m.start()])
        pieces.append((m.group(0), True))
        pos = m.end()
    pieces.extend((c, False) for c in text[pos:])

    def chinese_at(j: int, step: int) -> bool:
        """Whether pieces[j] (on the right) is Chinese context: a Chinese character, or a kept span with
        Chinese written against its far side."""
        if not 0 <= j < len(pieces):
            return False
        piece, kept = pieces[j]
        if not kept:
            return _is_cjk(piece)
        k = j + step
        return 0 <= k < len(pieces) and not pieces[k][1] and _is_cjk(pieces[k][0])

    out: list[str] = []
    opened: list[bool] = []  # for each "(" met: whether it was converted
    for i, (char, kept) in enumerate(pieces):
        if kept or (char not in FULL_WIDTH and char != "."):
            out.append(char)
            continue
        before = out[-1][-1] if out and not pieces[i - 1][1] else ""
        after = pieces[i + 1][0] if i + 1 < len(pieces) and not pieces[i + 1][1] else ""
        # on the left, what was already written (converted); a placeholder written against the mark stands
        # in Chinese text (the mark belongs to the sentence around it, whatever the placeholder shows)
        attached = i >= 1 and pieces[i - 1][1]
        chinese = attached or _is_cjk(before) or chinese_at(i + 1, +1)
        if char == ".":
            ends = not after or after.isspace() or _is_cjk(after)
            out.append("\u3002" if _is_cjk(before) and ends else char)
        elif char == "(":
            opened.append(chinese)
            out.append(FULL_WIDTH[char] if chinese else char)
        elif char == ")":
            convert = opened.pop() if opened else chinese
            out.append(FULL_WIDTH[char] if convert else char)
        elif before.isdigit() and after.isdigit():  # 21:56, 1,000
            out.append(char)
        else:
            out.append(FULL_WIDTH[char] if chinese else char)
    # no space typed after a full-width mark (before more text) or before it
    return re.sub(r"[ \t]*([\uff0c\uff1a\uff1b\uff1f\uff01\u3002])[ \t]+(?=\S)", r"\1", "".join(out))


LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def compile_all() -> int:
    """Compile every catalogue whose .mo is older than its .po or this module (zh-Hans translations through
    `zh_punctuation`); returns how many were compiled."""
    count = 0
    for po_path in catalogues():
        mo_path = po_path.with_suffix(".mo")
        newest_source = max(po_path.stat().st_mtime, Path(__file__).stat().st_mtime)  # this module compiles it
        if mo_path.exists() and mo_path.stat().st_mtime >= newest_source:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        if is_zh(po_path.parent.parent.name):
            for message in catalog:
                if message.id and isinstance(message.string, str):
                    message.string = zh_punctuation(message.string)
                elif message.id and message.string:
                    message.string = tuple(zh_punctuation(s) for s in message.string)
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        count += 1
    return count


def untranslated(po_path: Path) -> list[str]:
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    return [str(m.id) for m in catalog if m.id and (not m.string or m.fuzzy)]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "compile"
    if command == "compile":
        compile_all()
        return 0
    if command == "check":
        missing = [(p, msg) for p in catalogues() for msg in untranslated(p)]
        for path, msg in missing:
            print(f"{path.relative_to(LOCALE_DIR)}: untranslated: {msg!r}")
        return 1 if missing else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
