// Score histogram with a threshold line the user drags; shows false-reject and escape rates live.
(function () {
  "use strict";
  var svg = document.getElementById("hist");
  if (!svg) return;
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("scores-data").textContent);
  var range = document.getElementById("threshold-range");
  var input = document.getElementById("threshold");
  var W = 640, H = 220, PAD = 24, BINS = 30;
  var scores = data.map(function (d) { return d.s; });
  var t0 = parseFloat(svg.getAttribute("data-threshold"));
  var presets = Array.prototype.slice.call(document.querySelectorAll("[data-preset]"));
  var marks = scores.concat([t0], presets.map(function (b) { return parseFloat(b.getAttribute("data-preset")); }));
  var lo = Math.min.apply(null, marks), hi = Math.max.apply(null, marks);
  // a margin on both sides; where scores are distances the left end stays above 0 (the server
  // refuses a threshold of 0 or below); scores in standard deviations of good parts may go below
  var standardised = svg.getAttribute("data-standardised") === "1";
  var span = (hi - lo) || 1;
  lo -= standardised ? span * 0.05 : lo > 0 ? Math.min(span * 0.05, lo * 0.5) : 0;
  hi += span * 0.05; span = hi - lo;
  var good = new Array(BINS).fill(0), bad = new Array(BINS).fill(0);
  data.forEach(function (d) {
    var b = Math.min(BINS - 1, Math.floor((d.s - lo) / span * BINS));
    (d.y ? bad : good)[b] += 1;
  });
  var top = Math.max.apply(null, good.concat(bad).concat([1]));
  var x = function (v) { return PAD + (v - lo) / span * (W - 2 * PAD); };
  var el = function (name, attrs) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    svg.appendChild(e);
    return e;
  };
  var bw = (W - 2 * PAD) / BINS;
  for (var i = 0; i < BINS; i++) {
    var hg = good[i] / top * (H - 2 * PAD), hb = bad[i] / top * (H - 2 * PAD);
    el("rect", { x: PAD + i * bw, y: H - PAD - hg, width: bw / 2, height: hg, fill: "#4a6fa5" });
    el("rect", { x: PAD + i * bw + bw / 2, y: H - PAD - hb, width: bw / 2, height: hb, fill: "#cf222e" });
  }
  el("line", { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, stroke: "#666" });
  var lbl = el("text", { x: PAD, y: H - 6, "font-size": 11 }); lbl.textContent = lo.toFixed(3);
  var lbr = el("text", { x: W - PAD, y: H - 6, "font-size": 11, "text-anchor": "end" }); lbr.textContent = hi.toFixed(3);
  var line = el("line", { id: "threshold-line", y1: 8, y2: H - PAD, stroke: "#cf222e", "stroke-width": 3 });
  range.min = lo; range.max = hi; range.step = span / 1000;
  var nGood = data.filter(function (d) { return !d.y; }).length, nBad = data.length - nGood;
  var pct = function (n, d) { return d ? (100 * n / d).toFixed(1) + "%" : "–"; };
  function set(t, from) {
    var fr = data.filter(function (d) { return !d.y && d.s > t; }).length;
    var esc = data.filter(function (d) { return d.y && d.s <= t; }).length;
    line.setAttribute("x1", x(t)); line.setAttribute("x2", x(t));
    document.getElementById("live-frr").textContent = pct(fr, nGood);
    document.getElementById("live-fr-n").textContent = fr;
    document.getElementById("live-escape").textContent = pct(esc, nBad);
    document.getElementById("live-esc-n").textContent = esc;
    if (from !== range) range.value = t;
    if (from !== input) input.value = t.toPrecision(6);
  }
  function fromPointer(ev) {
    var r = svg.getBoundingClientRect();
    var px = (ev.clientX - r.left) / r.width * W;
    set(Math.max(lo, Math.min(hi, lo + (px - PAD) / (W - 2 * PAD) * span)), null);
  }
  var dragging = false;
  svg.addEventListener("pointerdown", function (ev) { dragging = true; svg.setPointerCapture(ev.pointerId); fromPointer(ev); });
  svg.addEventListener("pointermove", function (ev) { if (dragging) fromPointer(ev); });
  svg.addEventListener("pointerup", function () { dragging = false; });
  range.addEventListener("input", function () { set(parseFloat(range.value), range); });
  input.addEventListener("input", function () { var v = parseFloat(input.value); if (isFinite(v)) set(v, input); });
  presets.forEach(function (b) {
    b.addEventListener("click", function () { set(parseFloat(b.getAttribute("data-preset")), null); });
  });
  set(t0, input);
})();
