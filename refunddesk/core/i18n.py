"""Translation catalogues, compiled with Babel so no GNU gettext is needed.

    python -m refunddesk.core.i18n compile   # .po -> .mo for every catalogue
    python -m refunddesk.core.i18n check     # list msgids with no zh-Hans translation
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def is_zh(language: str | None) -> bool:
    """Whether a language code (zh-Hans, zh-hans, zh-CN, zh ...) asks for Chinese; anything else is English."""
    return (language or "").lower().startswith("zh")


LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def compile_all() -> int:
    count = 0
    for po_path in catalogues():
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
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
