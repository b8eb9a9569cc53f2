// Forms, enhanced (everything works without this file: the server decides what is asked).
// 1. An error summary takes the focus when the page loads, so a screen reader reads it first
//    and a keyboard continues from it (autofocus does the same where browsers support it).
// 2. The contact form asks only for what the chosen reason needs: a question about a case
//    ("How is my case going?") needs the email and, optionally, the reference.
(function () {
  "use strict";

  function focusSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary && document.activeElement !== summary) {
      summary.focus();
    }
  }

  function showFieldsFor(select) {
    var option = select.options[select.selectedIndex];
    var asksAboutCase = option && option.hasAttribute("data-status-inquiry");
    var form = select.form;
    form.querySelectorAll("[data-case-only]").forEach(function (element) {
      element.hidden = asksAboutCase;
    });
    form.querySelectorAll("[data-status-only]").forEach(function (element) {
      element.hidden = !asksAboutCase;
    });
    var button = form.querySelector("[data-label-status]");
    if (button) {
      button.textContent = asksAboutCase
        ? button.getAttribute("data-label-status")
        : button.getAttribute("data-label-case");
    }
  }

  function start() {
    focusSummary();
    document.querySelectorAll("select[data-reason]").forEach(function (select) {
      select.addEventListener("change", function () {
        showFieldsFor(select);
      });
      showFieldsFor(select);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
