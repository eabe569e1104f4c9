/* refunddesk: a little progressive enhancement; every page works without it. */
(function () {
  "use strict";
  // Forms that change something important ask first: <form data-confirm="Are you sure?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    // one click, one submission
    if (!event.defaultPrevented && form.method.toLowerCase() === "post") {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]:not([disabled])").forEach(function (b) {
          b.disabled = true;
          b.setAttribute("data-disabled-on-submit", "");
        });
      }, 0);
    }
  });
  // <select data-autosubmit> submits its form when changed (the language switcher).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) {
      event.target.form.submit();
    }
  });
  // The apply form: highlight what the policy says for the reason chosen.
  function highlightReason(select) {
    var panel = document.querySelector("[data-preview]");
    if (!panel) { return; }
    panel.querySelectorAll("[data-reasons]").forEach(function (li) {
      var reasons = li.getAttribute("data-reasons").split(" ");
      li.classList.toggle("chosen", select.value !== "" && reasons.indexOf(select.value) !== -1);
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-preview-reason]")) { highlightReason(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("select[data-preview-reason]");
    if (select) { highlightReason(select); }
  });
  // Evidence files are checked here before anything is sent: their count and sizes against the limits the
  // server enforces (<input type=file data-max-files data-max-bytes data-max-total-bytes>), with the server's
  // own messages in the page's language (data-too-many, data-too-large, data-too-much; {count} {name} {size}).
  function megabytes(bytes) { return (bytes / 1048576).toFixed(1).replace(/\.0$/, ""); }
  function evidenceProblem(input) {
    var files = Array.prototype.slice.call(input.files || []);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxTotal = parseInt(input.getAttribute("data-max-total-bytes"), 10);
    if (files.length > maxFiles) {
      return input.getAttribute("data-too-many").replace("{count}", String(files.length));
    }
    var total = 0;
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > maxBytes) {
        return input.getAttribute("data-too-large").replace("{name}", files[i].name)
          .replace("{size}", megabytes(files[i].size));
      }
      total += files[i].size;
    }
    if (total > maxTotal) { return input.getAttribute("data-too-much").replace("{size}", megabytes(total)); }
    return "";
  }
  function showEvidenceProblem(input) {
    var problem = evidenceProblem(input);
    var box = input.parentNode.querySelector("[data-evidence-check]");
    if (!box) {
      box = document.createElement("ul");
      box.className = "errorlist";
      box.setAttribute("data-evidence-check", "");
      box.setAttribute("role", "alert");
      input.insertAdjacentElement("afterend", box);
    }
    box.textContent = "";
    if (problem) {
      var item = document.createElement("li");
      item.textContent = problem;
      box.appendChild(item);
    }
    input.closest(".field") && input.closest(".field").classList.toggle("has-error", !!problem);
    input.setAttribute("aria-invalid", problem ? "true" : "false");
    return problem;
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[type=file][data-max-files]")) { showEvidenceProblem(event.target); }
  });
  // before the confirmation and the one-click guard above: a form with files over the limits is not sent
  document.addEventListener("submit", function (event) {
    var inputs = event.target.querySelectorAll("input[type=file][data-max-files]");
    for (var i = 0; i < inputs.length; i++) {
      if (showEvidenceProblem(inputs[i])) {
        event.preventDefault();
        event.stopImmediatePropagation();
        inputs[i].focus();
        return;
      }
    }
  }, true);
  // Validation before confirmation: a form that asks "are you sure?" first says what is missing. Its required
  // fields (the `required` attribute Django sets) that are empty get the error beside them, in the page's
  // language (<body data-msg-required>), and nothing is asked or sent; the server checks the same again.
  function clearClientErrors(form) {
    form.querySelectorAll("[data-client-error]").forEach(function (el) { el.remove(); });
    form.querySelectorAll(".field[data-client-invalid]").forEach(function (el) {
      el.classList.remove("has-error");
      el.removeAttribute("data-client-invalid");
    });
  }
  function emptyRequired(form) {
    var empty = [];
    form.querySelectorAll("input[required], select[required], textarea[required]").forEach(function (el) {
      if (el.disabled || el.type === "hidden" || el.type === "file") { return; }
      if (el.type === "checkbox" || el.type === "radio" ? !el.checked : !String(el.value || "").trim()) {
        empty.push(el);
      }
    });
    return empty;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var asks = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!asks) { return; }
    clearClientErrors(form);
    var empty = emptyRequired(form);
    if (!empty.length) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    var message = document.body.getAttribute("data-msg-required") || "This field is required.";
    empty.forEach(function (el) {
      var field = el.closest(".field") || el.parentNode;
      var list = document.createElement("ul");
      list.className = "errorlist";
      list.id = el.id + "_error";
      list.setAttribute("data-client-error", "");
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      el.insertAdjacentElement("afterend", list);
      el.setAttribute("aria-invalid", "true");
      if (field.classList) {
        field.classList.add("has-error");
        field.setAttribute("data-client-invalid", "");
      }
    });
    empty[0].focus();
  }, true);
  // Re-enable buttons when a page is shown again from the back/forward cache.
  // Only those disabled above: a button the page itself disables stays disabled.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("button[data-disabled-on-submit]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("data-disabled-on-submit");
    });
  });
})();
// An outage compensation running (console incident page): follow its progress, no second run meanwhile.
// <div id="run" data-active="1" data-url="...progress/"> with <progress> and [data-k] fields; #compensate is the button.
(function () {
  var box = document.getElementById("run");
  if (!box || box.dataset.active !== "1") return;
  var bar = box.querySelector("progress"), button = document.getElementById("compensate");
  function hold() { if (button) button.disabled = true; }  // no second run while this one goes on
  hold();
  window.addEventListener("pageshow", function () { setTimeout(hold, 0); });  // after app.js re-enables buttons
  function tick() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.percent;
        box.querySelectorAll("[data-k]").forEach(function (el) {
          var v = p[el.dataset.k]; if (v !== undefined && v !== null) el.textContent = v;
        });
        if (button) {
          button.disabled = !!p.active;
          if (p.status === "done" && button.dataset.doneLabel) { button.textContent = button.dataset.doneLabel; }
        }
        if (p.active) { setTimeout(tick, 1000); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
