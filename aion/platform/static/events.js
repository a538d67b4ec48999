// Sensor events: a line chart of the numeric columns; drag across it to mark a time range.
(function () {
  "use strict";
  var root = document.getElementById("events");
  if (!root) return;
  var data = JSON.parse(document.getElementById("series").textContent);
  var svg = document.getElementById("chart");
  var NS = "http://www.w3.org/2000/svg";
  var colors = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700"];
  var names = Object.keys(data.points);
  var canEdit = root.dataset.canEdit === "1";

  function el(tag, attrs) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function band(start, end, cls) {
    var r = el("rect", { x: start * 1000, y: 0, width: Math.max(1, (end - start) * 1000), height: 300, "class": cls });
    svg.insertBefore(r, svg.firstChild);
    return r;
  }
  // each column scaled to its own range (shapes, not units, matter for marking events)
  names.slice(0, 5).forEach(function (name, k) {
    var v = data.points[name];
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v), span = hi - lo || 1;
    var pts = v.map(function (y, i) {
      return (i / Math.max(1, v.length - 1) * 1000).toFixed(1) + "," + (290 - (y - lo) / span * 280).toFixed(1);
    });
    svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: colors[k], "stroke-width": 1.5, "vector-effect": "non-scaling-stroke" }));
  });
  document.getElementById("legend").textContent = names.slice(0, 5).join(" · ");
  data.events.forEach(function (e) { band(e.start, e.end, "event"); });

  function frac(ev) {
    var r = svg.getBoundingClientRect();
    return Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width));
  }
  function post(body) {
    return fetch("/api/datasets/items/" + root.dataset.item + "/label", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }
  var start = null, live = null;
  svg.addEventListener("mousedown", function (ev) {
    if (!canEdit) return;
    start = frac(ev);
    live = band(start, start, "event pending");
    ev.preventDefault();
  });
  svg.addEventListener("mousemove", function (ev) {
    if (start === null) return;
    var a = Math.min(start, frac(ev)), b = Math.max(start, frac(ev));
    live.setAttribute("x", a * 1000);
    live.setAttribute("width", Math.max(1, (b - a) * 1000));
  });
  document.addEventListener("mouseup", function (ev) {
    if (start === null) return;
    var a = Math.min(start, frac(ev)), b = Math.max(start, frac(ev));
    start = null;
    if (b - a < 0.005) { live.remove(); return; }
    var box = [Math.round(a * 10000) / 10000, 0, Math.round(b * 10000) / 10000, 1];
    post({ value: "event", box: box }).then(function (lab) {
      live.setAttribute("class", "event");
      var li = document.createElement("li");
      li.textContent = (box[0] * 100).toFixed(1) + "% – " + (box[2] * 100).toFixed(1) + "% · " + lab.author;
      document.getElementById("event-list").appendChild(li);
    }).catch(function () { live.remove(); });
  });
  document.addEventListener("keydown", function (ev) {
    if (!canEdit || ev.target.tagName === "INPUT" || (ev.key !== "x" && ev.key !== "X")) return;
    post({ value: null }).then(function () {
      Array.prototype.slice.call(svg.querySelectorAll("rect.event")).forEach(function (r) { r.remove(); });
      document.getElementById("event-list").innerHTML = "";
    });
  });
})();
