// Process monitoring charts: hover read-out, drag to mark the normal period, the false-alarm slider.
(function () {
  "use strict";
  function frac(svg, ev) {
    var r = svg.getBoundingClientRect();
    return Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width));
  }
  function nearest(rows, row) {
    var lo = 0, hi = rows.length - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (rows[mid] <= row) lo = mid; else hi = mid; }
    return Math.abs(rows[hi] - row) < Math.abs(rows[lo] - row) ? hi : lo;
  }
  document.querySelectorAll("svg.pchart-svg").forEach(function (svg) {
    var id = svg.id, n = parseInt(svg.dataset.rows, 10), W = svg.viewBox.baseVal.width;
    var data = JSON.parse(document.getElementById(id + "-data").textContent);
    var cursor = document.getElementById(id + "-cursor"), tip = document.getElementById(id + "-tip");
    var pending = document.getElementById(id + "-pending");
    var rowOf = function (f) { return Math.round(f * (n - 1)); };
    svg.addEventListener("mousemove", function (ev) {
      var f = frac(svg, ev), k = nearest(data.rows, rowOf(f)), row = data.rows[k];
      cursor.setAttribute("x1", row / Math.max(1, n - 1) * W);
      cursor.setAttribute("x2", row / Math.max(1, n - 1) * W);
      var parts = [(data.times ? data.times[k] : "#" + row)];
      Object.keys(data.series).slice(0, 9).forEach(function (name) { parts.push(name + " " + data.series[name][k]); });
      tip.textContent = parts.join(" · ");
    });
    if (svg.dataset.mode !== "select") return;
    var start = document.getElementById("normal-start"), end = document.getElementById("normal-end");
    var band = svg.querySelector(".band-normal");
    if (!start || !end) return;
    function show() {
      var a = parseInt(start.value, 10), b = parseInt(end.value, 10);
      if (isNaN(a) || isNaN(b) || !band) return;
      band.setAttribute("x", a / Math.max(1, n - 1) * W);
      band.setAttribute("width", Math.max(2, (b - 1 - a) / Math.max(1, n - 1) * W));
      var times = document.getElementById("normal-times");
      if (times && data.times) {
        times.textContent = data.times[nearest(data.rows, a)] + " ~ " + data.times[nearest(data.rows, b - 1)];
      }
    }
    start.addEventListener("input", show);
    end.addEventListener("input", show);
    var proposed = document.getElementById("use-proposed");
    if (proposed) proposed.addEventListener("click", function () {
      start.value = proposed.dataset.start; end.value = proposed.dataset.end; show();
    });
    var from = null;
    svg.addEventListener("mousedown", function (ev) { from = frac(svg, ev); ev.preventDefault(); });
    svg.addEventListener("mousemove", function (ev) {
      if (from === null) return;
      var a = Math.min(from, frac(svg, ev)), b = Math.max(from, frac(svg, ev));
      pending.setAttribute("x", a * W); pending.setAttribute("width", Math.max(1, (b - a) * W));
    });
    document.addEventListener("mouseup", function (ev) {
      if (from === null) return;
      var a = rowOf(Math.min(from, frac(svg, ev))), b = rowOf(Math.max(from, frac(svg, ev))) + 1;
      from = null;
      pending.setAttribute("width", 0);
      if (b - a < 10) return;
      start.value = a; end.value = b; show();
    });
  });
  var slider = document.getElementById("target-pos");
  if (slider) {
    var targets = slider.dataset.targets.split(",").map(Number);
    var label = document.getElementById("target-label");
    var text = function () { return (targets[slider.value] * 100).toFixed(2).replace(/\.?0+$/, "") + "%"; };
    slider.addEventListener("input", function () {
      label.textContent = text(); slider.setAttribute("aria-valuetext", text());
    });
    slider.addEventListener("change", function () { document.getElementById("target-form").submit(); });
  }
  var jobs = document.querySelector("[data-active-jobs]");
  if (jobs) setTimeout(function () { location.reload(); }, 3000);
})();
