/* The policy editor: the document and its test cases in CodeMirror 5 (YAML, line numbers), and what the server
   found shown at the line it is about (check problems and warnings, the tests beside the clause they exercise,
   failing cases in the cases file). The marks come as JSON (#document-marks, #cases-marks); without this script the
   page shows the same in its result panels. */
(function () {
  "use strict";
  if (!window.CodeMirror) { return; }
  function marks(id) {
    var el = document.getElementById(id);
    if (!el) { return []; }
    try { return JSON.parse(el.textContent) || []; } catch (e) { return []; }
  }
  function editor(textareaId, marksId) {
    var area = document.getElementById(textareaId);
    if (!area) { return; }
    var cm = window.CodeMirror.fromTextArea(area, {
      mode: "yaml", lineNumbers: true, lineWrapping: true, indentUnit: 2, tabSize: 2, viewportMargin: Infinity,
      extraKeys: { Tab: function (c) { c.replaceSelection("  "); } }
    });
    cm.getWrapperElement().setAttribute("data-editor-for", area.name);
    var first = null;
    marks(marksId).forEach(function (m) {
      var line = Math.min(Math.max((m.line || 1) - 1, 0), cm.lineCount() - 1);
      var note = document.createElement("div");
      note.className = "cm-mark cm-mark-" + m.kind;
      note.setAttribute("role", m.kind === "error" ? "alert" : "note");
      note.textContent = m.text;
      cm.addLineWidget(line, note, { coverGutter: false, noHScroll: true });
      cm.addLineClass(line, "background", "cm-line-" + m.kind);
      if (first === null && m.kind === "error") { first = line; }
    });
    if (first !== null) { cm.scrollIntoView({ line: first, ch: 0 }, 80); }
  }
  editor("id_document", "document-marks");
  editor("id_cases", "cases-marks");
})();
