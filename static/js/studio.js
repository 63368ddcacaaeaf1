// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Close an open <details> menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) { menu.removeAttribute("open"); });
  });

  // A form, or one of its buttons, that asks first: <form data-confirm="Delete this?">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || (event.target.dataset && event.target.dataset.confirm);
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // The board picked in a create form, copied into the forms beside it (the free tools).
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-board-pick]")) return;
    document.querySelectorAll("[data-board-mirror]").forEach(function (input) { input.value = event.target.value; });
  });

  // A form sent as soon as its file is chosen: <form data-autosubmit>.
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.type === "file" && event.target.files.length) form.requestSubmit();
  });

  // A live number beside its slider: <output data-shows="duration"> for <input id="duration">.
  document.addEventListener("input", function (event) {
    var shown = event.target.id && document.querySelector('output[data-shows="' + event.target.id + '"]');
    if (shown) shown.value = event.target.value;
    // The before/after slider of an edit.
    var compare = event.target.closest(".compare");
    if (compare && event.target.classList.contains("compare-range")) {
      compare.style.setProperty("--pos", event.target.value + "%");
    }
  });

  // ---- jobs in flight ----------------------------------------------------------------------
  // One request per page every POLL_MS for all the cards still running (not one per card), and
  // none while the tab is hidden; the page title counts them: "(2) Studio".
  var POLL_MS = 2000;
  var pollUrl = document.body.dataset.pollUrl;
  var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
  var polling = false;

  function running() { return document.querySelectorAll(".job-card[data-active]"); }

  function updateTitle() {
    var n = running().length;
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }

  // Put a fresh card in place of the old one; a running bar keeps its element, so it glides.
  function replaceCard(old, fresh) {
    var node = document.importNode(fresh, true);
    var oldBar = old.querySelector("progress"), newBar = node.querySelector("progress");
    if (oldBar && newBar) {
      var value = newBar.value;
      newBar.replaceWith(oldBar);
      window.requestAnimationFrame(function () { oldBar.value = value; });
    }
    old.replaceWith(node);
    if (window.htmx) window.htmx.process(node);
    return node;
  }

  function apply(html, asked) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var answered = {}, ended = false;
    doc.querySelectorAll(".job-card").forEach(function (fresh) {
      answered[fresh.id] = true;
      var old = document.getElementById(fresh.id);
      if (!old) return;
      if (!fresh.hasAttribute("data-active")) ended = true;
      replaceCard(old, fresh);
    });
    // Not in the answer: deleted or moved away; stop asking about it.
    asked.forEach(function (card) { if (!answered[card.id]) card.removeAttribute("data-active"); });
    var pill = doc.getElementById("balance-pill"), current = document.getElementById("balance-pill");
    if (pill && current) {
      pill.removeAttribute("hx-swap-oob");
      current.replaceWith(document.importNode(pill, true));
    }
    if (ended && window.htmx) window.htmx.trigger(document.body, "studio:refresh");
    updateTitle();
  }

  function poll() {
    var cards = Array.prototype.slice.call(running());
    if (!pollUrl || polling || document.hidden || !cards.length) return;
    var query = new URLSearchParams();
    cards.forEach(function (card) { query.append("id", card.id.replace(/^job-/, "")); });
    polling = true;
    fetch(pollUrl + "?" + query, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { apply(html, cards); })
      .catch(function () { /* a missed poll: the next one asks again */ })
      .then(function () { polling = false; });
  }

  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
  document.addEventListener("htmx:afterSettle", function () {
    updateTitle();
    var empty = document.getElementById("jobs-empty");
    if (empty && document.querySelector("#jobs .job-card")) empty.remove();
  });
  updateTitle();
})();

// Copy buttons: <button data-copy="#selector" data-copied="Copied">.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = button.dataset.copied || label;
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
