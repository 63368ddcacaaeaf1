// The full-size viewer: any link made with {% viewer_attrs %} opens its asset here, at its true
// shape. Zoom with the wheel, + and −, a double-click, or the buttons; drag to pan; ← and → go
// to the page's previous and next asset; Escape closes. Without this file the links open the
// asset's page (or its file), so nothing depends on it.
(function () {
  "use strict";
  var dialog = document.getElementById("viewer");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var stage = dialog.querySelector("[data-viewer-stage]");
  var img = stage.querySelector("img");
  var video = stage.querySelector("video");
  var title = dialog.querySelector("[data-viewer-title]");
  var scaleOut = dialog.querySelector("[data-viewer-scale]");
  var openLink = dialog.querySelector("[data-viewer-open]");
  var prev = dialog.querySelector("[data-viewer-prev]");
  var next = dialog.querySelector("[data-viewer-next]");
  var MAX_SCALE = 8;
  var items = [];
  var index = 0;
  // The image's natural size, and where it is drawn: top-left corner and scale, in stage pixels.
  var view = { w: 0, h: 0, x: 0, y: 0, scale: 1 };

  function key(el) { return el.dataset.src.split("?")[0]; }

  // The page's assets in the order they appear, each once.
  function collect() {
    var seen = {}, list = [];
    document.querySelectorAll("[data-viewer]").forEach(function (el) {
      if (dialog.contains(el) || seen[key(el)]) return;
      seen[key(el)] = true;
      list.push(el);
    });
    return list;
  }

  function stageSize() {
    var r = stage.getBoundingClientRect();
    return { w: r.width, h: r.height };
  }

  // The scale at which the whole image fits; never above 1, so small images stay true-size.
  function fitScale() {
    var s = stageSize();
    return Math.min(1, s.w / view.w, s.h / view.h);
  }

  function draw() {
    var s = stageSize(), w = view.w * view.scale, h = view.h * view.scale;
    // Smaller than the stage: centred. Larger: no empty space may open at an edge.
    view.x = w <= s.w ? (s.w - w) / 2 : Math.min(0, Math.max(s.w - w, view.x));
    view.y = h <= s.h ? (s.h - h) / 2 : Math.min(0, Math.max(s.h - h, view.y));
    img.style.transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ")";
    img.classList.toggle("is-pannable", w > s.w + 1 || h > s.h + 1);
    scaleOut.value = Math.round(view.scale * 100) + "%";
  }

  // Zoom to `scale`, keeping the point (cx, cy) of the stage where it is.
  function zoomTo(scale, cx, cy) {
    var s = stageSize();
    if (cx === undefined) { cx = s.w / 2; cy = s.h / 2; }
    scale = Math.max(Math.min(fitScale(), 1), Math.min(MAX_SCALE, scale));
    var k = scale / view.scale;
    view.x = cx - (cx - view.x) * k;
    view.y = cy - (cy - view.y) * k;
    view.scale = scale;
    draw();
  }

  function fit() { view.scale = fitScale(); draw(); }

  function show(i) {
    index = Math.max(0, Math.min(items.length - 1, i));
    var el = items[index], d = el.dataset;
    var isVideo = d.kind === "video";
    img.hidden = isVideo;
    video.hidden = !isVideo;
    dialog.classList.toggle("is-video", isVideo);
    if (isVideo) {
      video.width = +d.width;
      video.height = +d.height;
      if (video.getAttribute("src") !== d.src) video.src = d.src;
      video.play().catch(function () {});
    } else {
      video.pause();
      view.w = +d.width;
      view.h = +d.height;
      img.style.width = view.w + "px";
      img.style.height = view.h + "px";
      img.src = d.src;
      img.alt = d.title || "";
      fit();
    }
    title.textContent = d.title || "";
    openLink.href = d.page;
    prev.disabled = index === 0;
    next.disabled = index === items.length - 1;
  }

  function open(el) {
    items = collect();
    var at = items.map(key).indexOf(key(el));
    dialog.showModal();
    show(at < 0 ? 0 : at);
    stage.focus();  // the keys below act at once, whatever the browser focused first
  }

  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-viewer]");
    if (!el || el.hasAttribute("data-viewer-passive") || dialog.contains(el)) return;
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    open(el);
  });

  prev.addEventListener("click", function () { show(index - 1); });
  next.addEventListener("click", function () { show(index + 1); });
  dialog.querySelector("[data-viewer-close]").addEventListener("click", function () { dialog.close(); });
  dialog.querySelectorAll("[data-viewer-zoom]").forEach(function (b) {
    b.addEventListener("click", function () { zoom(b.dataset.viewerZoom); });
  });

  function zoom(how) {
    if (!img.hidden) {
      if (how === "in") zoomTo(view.scale * 1.25);
      else if (how === "out") zoomTo(view.scale / 1.25);
      else if (how === "fit") fit();
      else if (how === "actual") zoomTo(1);
    }
  }

  document.addEventListener("keydown", function (e) {
    if (!dialog.open) return;
    if (e.target.closest("video") && (e.key === "ArrowLeft" || e.key === "ArrowRight")) return;
    var action = { ArrowLeft: -1, ArrowRight: 1 }[e.key];
    if (action) { show(index + action); e.preventDefault(); return; }
    var how = { "+": "in", "=": "in", "-": "out", "0": "fit", "1": "actual" }[e.key];
    if (how) { zoom(how); e.preventDefault(); }
  });

  dialog.addEventListener("close", function () {
    video.pause();
    img.removeAttribute("src");
  });

  stage.addEventListener("wheel", function (e) {
    if (img.hidden) return;
    e.preventDefault();
    var r = stage.getBoundingClientRect();
    zoomTo(view.scale * Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  stage.addEventListener("dblclick", function (e) {
    if (img.hidden) return;
    var r = stage.getBoundingClientRect();
    var atFit = Math.abs(view.scale - fitScale()) < 0.01;
    if (atFit) zoomTo(Math.max(1, fitScale() * 2), e.clientX - r.left, e.clientY - r.top);
    else fit();
  });

  var drag = null;
  img.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX - view.x, y: e.clientY - view.y };
    img.setPointerCapture(e.pointerId);
    img.classList.add("is-dragging");
  });
  img.addEventListener("pointermove", function (e) {
    if (!drag) return;
    view.x = e.clientX - drag.x;
    view.y = e.clientY - drag.y;
    draw();
  });
  ["pointerup", "pointercancel"].forEach(function (n) {
    img.addEventListener(n, function () { drag = null; img.classList.remove("is-dragging"); });
  });

  window.addEventListener("resize", function () { if (dialog.open && !img.hidden) fit(); });
})();
