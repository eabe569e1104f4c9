"""The zh-Hans catalogue is complete and up to date, checked without GNU gettext.

1. every msgid in refunddesk/locale/zh_Hans/LC_MESSAGES/django.po has a translation (not fuzzy);
2. every string marked for translation in refunddesk/ (templates: {% translate %}, {% trans %},
   {% blocktranslate %}; Python: _(), gettext(), gettext_lazy(), ngettext() ... read with `ast`)
   is in the catalogue with a non-empty translation: a string added to the code without running
   `refunddesk makemessages -l zh_Hans --ignore=.venv --ignore=tests` and translating it fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from refunddesk.core.i18n import LOCALE_DIR, untranslated

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "refunddesk"
PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"

GETTEXT_FUNCS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ugettext", "ugettext_lazy", "pgettext",
                 "pgettext_lazy", "ngettext", "ngettext_lazy", "npgettext", "npgettext_lazy"}
TRANSLATE_TAG = re.compile(r"""{%\s*(?:translate|trans)\s+(?:(?:context|noop)\s+)?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
BLOCK = re.compile(r"{%\s*(?:blocktranslate|blocktrans)\b(?P<args>[^%]*)%}(?P<body>.*?){%\s*(?:endblocktranslate|endblocktrans)\s*%}",
                   re.S)
PLURAL = re.compile(r"{%\s*plural\s*%}")
VAR = re.compile(r"{{\s*([\w.]+)\s*}}")


def _catalogue() -> dict:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    out = {}
    for message in catalog:
        if not message.id:
            continue
        string = message.string[0] if isinstance(message.string, tuple) else message.string
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        # xgettext keeps \uXXXX escapes of Python sources as written; compare what Python means
        out[_unescape(key)] = "" if message.fuzzy else string
    return out


def _unescape(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _block_msgid(body: str, trimmed: bool) -> str:
    text = VAR.sub(lambda m: f"%({m.group(1)})s", body.replace("%", "%%"))
    text = re.sub(r"%%\((\w+)\)s", r"%(\1)s", text)  # the placeholders just made
    if trimmed:
        text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text


def template_strings(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = {ast.literal_eval(m.group(1)) for m in TRANSLATE_TAG.finditer(text)}
    for m in BLOCK.finditer(text):
        trimmed = "trimmed" in m.group("args")
        singular = PLURAL.split(m.group("body"))[0]
        found.add(_block_msgid(singular, trimmed))
    return found


def python_strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in GETTEXT_FUNCS:
            continue
        index = 1 if name.startswith(("pgettext", "npgettext")) else 0
        if len(node.args) > index and isinstance(node.args[index], ast.Constant) \
                and isinstance(node.args[index].value, str):
            found.add(node.args[index].value)
    return found


def marked_strings() -> dict[str, str]:
    """msgid -> where it was found (the first place)."""
    out: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*")):
        if "__pycache__" in path.parts or "migrations" in path.parts or not path.is_file():
            continue
        if path.suffix in (".html", ".txt"):
            strings = template_strings(path)
        elif path.suffix == ".py":
            strings = python_strings(path)
        else:
            continue
        for s in strings:
            if s:
                out.setdefault(s, str(path.relative_to(ROOT)))
    return out


def test_every_msgid_has_a_chinese_translation():
    missing = untranslated(PO)
    assert not missing, f"{len(missing)} msgid(s) without a zh-Hans translation, e.g. {missing[:10]}"


def test_the_catalogue_is_not_stale():
    catalogue = _catalogue()
    marked = marked_strings()
    assert len(marked) > 300  # the extractor found the project's strings
    absent = sorted(f"{where}: {msgid!r}" for msgid, where in marked.items() if msgid not in catalogue)
    assert not absent, (
        f"{len(absent)} string(s) marked for translation are not in {PO.name}; run "
        "`refunddesk makemessages -l zh_Hans --ignore=.venv --ignore=tests` and translate them:\n"
        + "\n".join(absent[:40]))
    empty = sorted(f"{where}: {msgid!r}" for msgid, where in marked.items() if not catalogue[msgid])
    assert not empty, f"{len(empty)} string(s) have no zh-Hans translation:\n" + "\n".join(empty[:40])


def test_placeholders_survive_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    placeholder = re.compile(r"%\((\w+)\)[sdfg]|%\(\w+\)\.\d+f")
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id[-1] if isinstance(message.id, tuple) else message.id
        string = message.string[0] if isinstance(message.string, tuple) else message.string
        if sorted(placeholder.findall(msgid)) != sorted(placeholder.findall(string)):
            wrong.append(msgid)
    assert not wrong, f"placeholders differ between msgid and translation: {wrong[:10]}"


def test_the_extractor_reads_every_kind_of_marking(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('{% translate "Plain" %}{% trans \'Old\' %}{% translate "Ctx" context "x" %}'
                    "{% blocktranslate with n=a %}Hello {{ n }}, 100%{% endblocktranslate %}"
                    "{% blocktranslate count c=k %}{{ c }} file{% plural %}{{ c }} files{% endblocktranslate %}",
                    encoding="utf-8")
    assert template_strings(page) == {"Plain", "Old", "Ctx", "Hello %(n)s, 100%%", "%(c)s file"}
    code = tmp_path / "code.py"
    code.write_text('_("A " "joined")\ngettext_lazy("Lazy")\nngettext("one", "many", 2)\npgettext("c", "P")\n',
                    encoding="utf-8")
    assert python_strings(code) == {"A joined", "Lazy", "one", "P"}
