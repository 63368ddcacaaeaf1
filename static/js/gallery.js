// The gallery's selection and bulk bar, on top of a page that works without it: tick tiles
// (shift-click ticks the range since the last one), "Select all on this page", and once
// something is ticked a click on a picture ticks it too. The bar (form#bulk) appears while
// something is ticked. And filter links without empty parameters.
(function () {
  "use strict";
  var bulk = document.querySelector("[data-bulk]");
  if (!bulk) return;
  var count = bulk.querySelector("[data-bulk-n]");
  var last = null;

  function boxes() { return Array.prototype.slice.call(document.querySelectorAll('input[name="uid"][form="bulk"]')); }
  function ticked() { return boxes().filter(function (b) { return b.checked; }); }

  function update() {
    var n = ticked().length;
    count.textContent = n;
    bulk.classList.toggle("has-selection", n > 0);
    document.body.classList.toggle("is-selecting", n > 0);
    boxes().forEach(function (b) { b.closest(".tile").classList.toggle("is-selected", b.checked); });
    document.querySelectorAll("[data-select-none]").forEach(function (el) { el.hidden = n === 0; });
    // Swapped in by a filter change, it comes hidden like the page did without JavaScript.
    document.querySelectorAll("[data-select-page]").forEach(function (el) { el.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest('input[name="uid"][form="bulk"]');
    if (box) {
      if (event.shiftKey && last && last !== box) {
        var all = boxes(), a = all.indexOf(last), b = all.indexOf(box);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
      }
      last = box;
      update();
      return;
    }
    if (event.target.closest("[data-select-page]")) {
      boxes().forEach(function (b) { b.checked = true; });
      update();
      return;
    }
    if (event.target.closest("[data-select-none]")) {
      boxes().forEach(function (b) { b.checked = false; });
      last = null;
      update();
      return;
    }
    // While selecting, a click on a picture ticks it rather than opening it.
    var view = event.target.closest(".tile .tile-view");
    if (view && ticked().length && !event.metaKey && !event.ctrlKey) {
      var tileBox = view.closest(".tile").querySelector('input[name="uid"]');
      if (tileBox) {
        event.preventDefault();
        event.stopPropagation();
        tileBox.click();
      }
    }
  }, true);

  // Send the person back to the gallery as they see it now (filters change without a reload).
  bulk.addEventListener("submit", function () {
    bulk.querySelector("[data-bulk-next]").value = window.location.pathname + window.location.search;
  });

  // Filters: leave empty fields out of the URL, so a link reads "?kind=video&fav=1".
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.closest || !event.detail.elt.closest("[data-filters]")) return;
    var params = event.detail.parameters;
    var names = [];
    params.forEach(function (value, name) { if (value === "") names.push(name); });
    names.forEach(function (name) { params.delete(name); });
  });
  document.addEventListener("htmx:afterSettle", update);
  bulk.classList.add("is-enhanced");
  update();
})();
