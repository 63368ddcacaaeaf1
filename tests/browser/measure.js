// Runs in the page; returns what a person would notice, as [kind, detail] pairs: sideways
// scrolling, a picture drawn at another shape than its file, a control past the page's edge,
// a sticky bar taller than the window. (../shared/tools/page_audit.py looks for the same.)
() => {
  const out = [];
  const vw = window.innerWidth, vh = window.innerHeight, doc = document.documentElement;
  if (doc.scrollWidth > vw + 1) out.push(["overflow", `${doc.scrollWidth}px wide in ${vw}px`]);
  const shown = (el) => {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && r.width > 0 && r.height > 0;
  };
  const what = (el) => `<${el.tagName.toLowerCase()} ${el.id || el.className || ""}> ${(el.getAttribute("aria-label") || el.innerText || el.currentSrc || "").trim().slice(0, 40)}`;
  for (const el of document.querySelectorAll("img, video")) {
    if (!shown(el)) continue;
    const nw = el.naturalWidth || el.videoWidth, nh = el.naturalHeight || el.videoHeight;
    const fit = getComputedStyle(el).objectFit;
    if (!nw || !nh || fit === "cover" || fit === "contain") continue;
    const r = el.getBoundingClientRect();
    if (Math.abs((r.width / r.height) / (nw / nh) - 1) > 0.01)
      out.push(["distorted", `${what(el)} ${nw}x${nh} drawn at ${r.width.toFixed(0)}x${r.height.toFixed(0)}`]);
  }
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if ((o === "auto" || o === "scroll") && a.scrollWidth > a.clientWidth) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    if (!shown(el) || scrolls(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left + scrollX < -1 || r.right + scrollX > vw + 1) out.push(["offscreen", what(el)]);
  }
  for (const el of document.querySelectorAll("body *")) {
    const pos = getComputedStyle(el).position;
    if ((pos === "sticky" || pos === "fixed") && shown(el) && el.getBoundingClientRect().height > vh)
      out.push(["too tall", what(el)]);
  }
  return out;
}
