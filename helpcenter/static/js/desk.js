// The desk's reply box, enhanced (everything works without this file: each insert button then
// posts the box and the server adds the text at its end, kept as a draft).
//
// 1. A saved reply or a link to an article goes into the box here, in the page, with no
//    request: where the cursor is once the person has been in the box, else at the end after a
//    blank line. Nothing is swapped, so what the person types, before or right after the
//    click, stays. An "inserted" event follows: the draft is saved at once (the box's htmx
//    trigger), one save after another (hx-sync), so an older text never lands last.
// 2. Leaving the page (another case, a reload, the tab closed) in the second before the
//    autosave: what the box holds and the server does not yet goes with a beacon.
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
    box.dispatchEvent(new Event("inserted", { bubbles: true }));
  }

  function isDraftSave(detail, box) {
    var path = detail.requestConfig ? detail.requestConfig.path : detail.path;
    return path === box.getAttribute("hx-post");
  }

  // What the server holds: the page's text, then each draft save that succeeded.
  document.addEventListener("htmx:configRequest", function (event) {
    var box = document.getElementById("reply-body");
    if (box && isDraftSave(event.detail, box)) {
      event.detail.elt.setAttribute("data-sending", box.value);
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var box = document.getElementById("reply-body");
    if (box && event.detail.successful && isDraftSave(event.detail, box)) {
      box.setAttribute("data-saved", event.detail.elt.getAttribute("data-sending") || "");
    }
  });

  // pagehide is what phones fire, beforeunload what a reload fires first; whichever comes
  // first sends, the other finds nothing new. A reload may ask for the page before the beacon
  // lands, so the text also waits in this tab's sessionStorage for the page that follows.
  function sendUnsaved() {
    var box = document.getElementById("reply-body");
    var saved = box ? box.getAttribute("data-saved") || "" : "";
    if (!box || !box.form || box.value === saved) {
      return;
    }
    var data = new FormData();
    data.append("csrfmiddlewaretoken", box.form.elements.csrfmiddlewaretoken.value);
    data.append("body", box.value);
    // The version the page was drawn at: a beacon from a page older than the last reply sent
    // is refused, like any late autosave (cases.services.desk.save_reply_draft).
    if (box.form.elements.draft_version) {
      data.append("draft_version", box.form.elements.draft_version.value);
    }
    data.append("quiet", "1");
    try {
      sessionStorage.setItem(
        "draft:" + box.getAttribute("hx-post"),
        JSON.stringify({ before: saved, text: box.value })
      );
    } catch (error) {
      // Storage full or refused: the beacon still goes.
    }
    if (navigator.sendBeacon(box.getAttribute("hx-post"), data)) {
      box.setAttribute("data-saved", box.value);
    }
  }
  window.addEventListener("beforeunload", sendUnsaved);
  window.addEventListener("pagehide", sendUnsaved);

  // The page came back before the beacon's text reached the server: put it back, and save it.
  function restoreUnsaved() {
    var box = document.getElementById("reply-body");
    if (!box) {
      return;
    }
    var key = "draft:" + box.getAttribute("hx-post");
    var kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(key) || "null");
      sessionStorage.removeItem(key);
    } catch (error) {
      return;
    }
    // Only over the very text it was typed over: anything else is newer (sent, or written in
    // another tab) and wins.
    if (kept && box.value !== kept.text && box.value === kept.before) {
      box.value = kept.text;
      // After htmx has set the box up (this file runs before it): then it saves the text.
      setTimeout(function () {
        box.dispatchEvent(new Event("inserted", { bubbles: true }));
      }, 0);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restoreUnsaved);
  } else {
    restoreUnsaved();
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
