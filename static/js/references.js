// Reference images in the studio's composer: pick them from the gallery in a dialog, upload
// them (htmx sends the files at once, see front/_references.html), remove them. Each is a chip
// holding a hidden `reference` input; after any change the options re-check the form.
// Without this file, uploads go with the form and "From the gallery" opens the gallery.
(function () {
  "use strict";

  function refresh() { if (window.htmx) window.htmx.trigger(document.body, "studio:refresh"); }

  function box(el) { return el.closest("[data-references]"); }

  function chips(refs) { return refs.querySelectorAll("#ref-chips .ref-chip"); }

  // Keep at most `data-max` chips; a video's one image is replaced by the newest.
  function trim(refs) {
    var max = +refs.dataset.max, all = chips(refs);
    for (var i = 0; i < all.length - max && max === 1; i++) all[i].remove();
  }

  function addChip(refs, uid, thumb) {
    var chip = refs.querySelector("#ref-chip-template").content.firstElementChild.cloneNode(true);
    chip.querySelector("img").src = thumb;
    chip.querySelector("input").value = uid;
    refs.querySelector("#ref-chips").appendChild(chip);
    trim(refs);
  }

  function chosen(refs) {
    var uids = {};
    refs.querySelectorAll('#ref-chips input[name="reference"]').forEach(function (i) { uids[i.value] = true; });
    return uids;
  }

  function markPicked(refs) {
    var uids = chosen(refs);
    refs.querySelectorAll("[data-ref-add]").forEach(function (b) {
      b.setAttribute("aria-pressed", uids[b.dataset.refAdd] ? "true" : "false");
    });
  }

  function load(refs, url, append) {
    var body = refs.querySelector("#ref-picker-body");
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      if (append) body.insertAdjacentHTML("beforeend", html);
      else body.innerHTML = html;
      markPicked(refs);
    });
  }

  document.addEventListener("click", function (e) {
    var pick = e.target.closest("[data-ref-pick]");
    if (pick && box(pick)) {
      e.preventDefault();
      var refs = box(pick), dialog = refs.querySelector("#ref-picker");
      load(refs, refs.dataset.picker, false);
      dialog.showModal();
      return;
    }
    var add = e.target.closest("[data-ref-add]");
    if (add && box(add)) {
      var r = box(add);
      var existing = r.querySelector('#ref-chips input[value="' + add.dataset.refAdd + '"]');
      if (existing) existing.closest(".ref-chip").remove();
      else addChip(r, add.dataset.refAdd, add.dataset.thumb);
      markPicked(r);
      refresh();
      return;
    }
    var more = e.target.closest("[data-picker-more]");
    if (more && box(more)) {
      load(box(more), more.dataset.pickerMore, true);
      more.remove();
      return;
    }
    var done = e.target.closest("[data-picker-close]");
    if (done) { done.closest("dialog").close(); return; }
    var remove = e.target.closest("[data-ref-remove]");
    if (remove && box(remove)) {
      remove.closest(".ref-chip").remove();
      refresh();
    }
  });

  // An upload answered: empty the file input (its files are in the gallery now, and must not
  // go again with the form), and keep the tray within its limit.
  document.addEventListener("htmx:afterRequest", function (e) {
    var input = e.detail.elt;
    if (input.name !== "reference_file") return;
    input.value = "";
    if (box(input)) trim(box(input));
    refresh();
  });
})();
