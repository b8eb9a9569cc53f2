// The desk's reply box, enhanced (everything works without this file: each insert button then
// posts the box and the server adds the text at its end, kept as a draft).
//
// A saved reply or a link to an article goes into the box here, in the page, with no request:
// where the cursor is once the person has been in the box, else at the end after a blank line.
// Nothing is swapped, so what the person types, before or right after the click, stays.
// An "input" event follows, so the draft is saved as if they had typed it.
(function () {
  "use strict";

  function insertInto(box, text) {
    var value = box.value;
    var start = value.length;
    var end = value.length;
    var before = "";
    var after = "";
    if (box.hasAttribute("data-touched")) {
      start = box.selectionStart;
      end = box.selectionEnd;
      var previous = value.charAt(start - 1);
      var next = value.charAt(end);
      before = previous && !/\s/.test(previous) ? " " : "";
      after = next && !/\s/.test(next) ? " " : "";
    } else if (value.trim()) {
      value = value.replace(/\s+$/, "");
      start = end = value.length;
      before = "\n\n";
    }
    box.value = value.slice(0, start) + before + text + after + value.slice(end);
    var caret = start + before.length + text.length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.setAttribute("data-touched", "");
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Capture: before htmx (or the form's submission) hears of the click.
  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest ? event.target.closest("button[data-insert]") : null;
      var box = document.getElementById("reply-body");
      if (!button || !box) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      insertInto(box, button.getAttribute("data-insert"));
    },
    true
  );

  // The person has been in the box: their cursor says where the next insertion goes.
  document.addEventListener(
    "focusin",
    function (event) {
      if (event.target.id === "reply-body") {
        event.target.setAttribute("data-touched", "");
      }
    },
    true
  );
})();
