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

  // The page title counts the jobs still running: "(2) Studio".
  var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
  function updateTitle() {
    var running = document.querySelectorAll(".job-card[data-active]").length;
    document.title = (running ? "(" + running + ") " : "") + baseTitle;
  }
  document.addEventListener("htmx:afterSettle", function () {
    updateTitle();
    var empty = document.getElementById("jobs-empty");
    if (empty && document.querySelector("#jobs .job-card")) empty.remove();
  });
})();

// Copy buttons: <button data-copy="#selector">.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
