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
