// The edit page: tabs, a mask painted over the image, a crop box, live adjustment previews.
// Without this file the forms still work: crop takes the numbers typed, AI edits go unmasked.
(function () {
  "use strict";
  var stage = document.getElementById("stage");
  if (!stage) return;
  var img = document.getElementById("stage-image");
  var naturalW = +stage.dataset.width, naturalH = +stage.dataset.height;

  // ---- tabs ---------------------------------------------------------------------------
  var tabs = document.querySelectorAll('.tabs [role="tab"]');
  function select(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    var tools = tab.id === "tab-tools";
    crop.show(tools);
    if (tools) mask.stop();
  }
  tabs.forEach(function (t) { t.addEventListener("click", function () { select(t); }); });

  function scale() { return naturalW / img.getBoundingClientRect().width; }

  // ---- mask ---------------------------------------------------------------------------
  var mask = (function () {
    var canvas = document.getElementById("mask-canvas");
    var toggle = document.getElementById("mask-toggle");
    var clear = document.getElementById("mask-clear");
    var brush = document.getElementById("mask-brush");
    var brushLabel = document.getElementById("mask-brush-label");
    var field = document.getElementById("mask-data");
    if (!canvas || !toggle) return { stop: function () {} };
    var ctx = canvas.getContext("2d");
    var painting = false, drawing = false, painted = false, last = null;

    function point(e) {
      var r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * naturalW / r.width, y: (e.clientY - r.top) * naturalH / r.height };
    }
    function dab(p) {
      var size = +brush.value * scale();
      ctx.strokeStyle = ctx.fillStyle = "rgba(255, 64, 96, 0.55)";
      ctx.lineWidth = size; ctx.lineCap = ctx.lineJoin = "round";
      ctx.globalCompositeOperation = "source-over";
      if (last) { ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke(); }
      ctx.beginPath(); ctx.arc(p.x, p.y, size / 2, 0, Math.PI * 2); ctx.fill();
      last = p; painted = true; clear.hidden = false;
    }
    canvas.addEventListener("pointerdown", function (e) {
      if (!painting) return;
      drawing = true; last = null; canvas.setPointerCapture(e.pointerId); dab(point(e));
    });
    canvas.addEventListener("pointermove", function (e) { if (drawing) dab(point(e)); });
    ["pointerup", "pointercancel"].forEach(function (n) {
      canvas.addEventListener(n, function () { drawing = false; last = null; });
    });
    function start() {
      painting = true; canvas.hidden = false; canvas.classList.add("is-painting");
      toggle.textContent = "Done painting"; brushLabel.hidden = false;
    }
    function stop() {
      painting = false; canvas.classList.remove("is-painting");
      toggle.textContent = painted ? "Paint more" : "Paint the area to change"; brushLabel.hidden = true;
      if (!painted) canvas.hidden = true;
    }
    toggle.addEventListener("click", function () { painting ? stop() : start(); });
    clear.addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); painted = false; clear.hidden = true; field.value = "";
    });
    // Transparent where painted, opaque elsewhere: the edits API's mask convention.
    function exportMask() {
      if (!painted) { field.value = ""; return; }
      var out = document.createElement("canvas");
      out.width = naturalW; out.height = naturalH;
      var o = out.getContext("2d");
      o.fillStyle = "#000"; o.fillRect(0, 0, naturalW, naturalH);
      o.globalCompositeOperation = "destination-out";
      o.drawImage(canvas, 0, 0);
      field.value = out.toDataURL("image/png");
    }
    var form = document.getElementById("edit-form");
    if (form) form.addEventListener("submit", exportMask, true);  // before htmx reads the form
    return { stop: stop };
  })();

  // ---- crop box -----------------------------------------------------------------------
  var crop = (function () {
    var box = document.getElementById("crop-box");
    var form = document.getElementById("crop-form");
    if (!box || !form) return { show: function () {} };
    var fields = { x: form.elements.x, y: form.elements.y, w: form.elements.w, h: form.elements.h };
    var rect = { x: 0, y: 0, w: naturalW, h: naturalH };  // natural pixels

    function aspect() {
      var v = (form.querySelector('input[name="aspect"]:checked') || {}).value || "free";
      if (v === "free") return null;
      var p = v.split(":"); return +p[0] / +p[1];
    }
    function even(n) { return Math.max(16, Math.floor(n / 2) * 2); }
    function centered() {
      var a = aspect();
      if (!a) return { x: Math.round(naturalW * 0.1), y: Math.round(naturalH * 0.1), w: even(naturalW * 0.8), h: even(naturalH * 0.8) };
      var w = naturalW, h = w / a;
      if (h > naturalH) { h = naturalH; w = h * a; }
      w = even(w); h = even(h);
      return { x: Math.floor((naturalW - w) / 2), y: Math.floor((naturalH - h) / 2), w: w, h: h };
    }
    function clamp() {
      rect.w = Math.min(rect.w, naturalW); rect.h = Math.min(rect.h, naturalH);
      rect.x = Math.max(0, Math.min(rect.x, naturalW - rect.w));
      rect.y = Math.max(0, Math.min(rect.y, naturalH - rect.h));
    }
    function draw() {
      clamp();
      var s = 1 / scale();
      box.style.left = rect.x * s + "px"; box.style.top = rect.y * s + "px";
      box.style.width = rect.w * s + "px"; box.style.height = rect.h * s + "px";
      fields.x.value = Math.round(rect.x); fields.y.value = Math.round(rect.y);
      fields.w.value = Math.round(rect.w); fields.h.value = Math.round(rect.h);
    }
    var drag = null;
    box.addEventListener("pointerdown", function (e) {
      var r = box.getBoundingClientRect();
      var corner = e.clientX > r.right - 18 && e.clientY > r.bottom - 18;
      drag = { corner: corner, sx: e.clientX, sy: e.clientY, start: Object.assign({}, rect) };
      box.setPointerCapture(e.pointerId); e.preventDefault();
    });
    box.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var k = scale(), dx = (e.clientX - drag.sx) * k, dy = (e.clientY - drag.sy) * k;
      if (drag.corner) {
        var a = aspect(), w = Math.max(16, drag.start.w + dx);
        var h = a ? w / a : Math.max(16, drag.start.h + dy);
        if (drag.start.x + w > naturalW) { w = naturalW - drag.start.x; if (a) h = w / a; }
        if (drag.start.y + h > naturalH) { h = naturalH - drag.start.y; if (a) w = h * a; }
        rect.w = even(w); rect.h = even(h);
      } else {
        rect.x = drag.start.x + dx; rect.y = drag.start.y + dy;
      }
      draw();
    });
    ["pointerup", "pointercancel"].forEach(function (n) { box.addEventListener(n, function () { drag = null; }); });
    form.addEventListener("change", function (e) {
      if (e.target.name === "aspect") { rect = centered(); draw(); }
    });
    ["x", "y", "w", "h"].forEach(function (k) {
      fields[k].addEventListener("input", function () { rect[k] = +fields[k].value || 0; draw(); });
    });
    window.addEventListener("resize", draw);
    rect = centered();
    return {
      show: function (on) {
        box.classList.toggle("is-visible", on);
        if (on) { if (img.complete) draw(); else img.addEventListener("load", draw, { once: true }); }
      }
    };
  })();

  // ---- adjustment preview -----------------------------------------------------------------
  var adjust = document.getElementById("adjust-form");
  if (adjust) {
    adjust.addEventListener("input", function () {
      var f = [];
      adjust.querySelectorAll("input[type=range]").forEach(function (r) {
        r.nextElementSibling.value = r.value;
        f.push(r.dataset.preview + "(" + (1 + r.value / 100) + ")");
      });
      img.style.filter = f.join(" ");
    });
  }
})();
