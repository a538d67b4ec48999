// Labeling by keyboard: o = OK, n = NG, x = clear, arrows = previous / next; click selects.
(function () {
  "use strict";
  var root = document.getElementById("labeler");
  if (!root) return;
  var items = Array.prototype.slice.call(root.querySelectorAll(".label-list li"));
  var canEdit = root.dataset.canEdit === "1";
  var img = document.getElementById("viewer-img");
  var name = document.getElementById("viewer-name");
  var shown = document.getElementById("viewer-label");
  var pos = document.getElementById("viewer-pos");
  var boxEl = document.getElementById("viewer-box");
  var i = 0;

  function drawBox(b) {
    if (!b) { boxEl.hidden = true; return; }
    var w = img.clientWidth, h = img.clientHeight, ox = img.offsetLeft, oy = img.offsetTop;
    boxEl.style.left = (ox + b[0] * w) + "px";
    boxEl.style.top = (oy + b[1] * h) + "px";
    boxEl.style.width = ((b[2] - b[0]) * w) + "px";
    boxEl.style.height = ((b[3] - b[1]) * h) + "px";
    boxEl.hidden = false;
  }

  function boxOf(li) { return li.dataset.box ? JSON.parse(li.dataset.box) : null; }

  function show(k) {
    if (!items.length) return;
    i = Math.max(0, Math.min(items.length - 1, k));
    items.forEach(function (li) { li.classList.remove("current"); li.removeAttribute("aria-current"); });
    var li = items[i];
    li.classList.add("current");
    li.setAttribute("aria-current", "true");
    li.scrollIntoView({ block: "nearest" });
    img.src = li.dataset.src;
    img.alt = li.dataset.name;
    name.textContent = li.dataset.name;
    shown.textContent = (li.dataset.label || "").toUpperCase();
    pos.textContent = (i + 1) + " / " + items.length;
    if (img.complete) drawBox(boxOf(li)); else img.onload = function () { drawBox(boxOf(li)); };
  }

  function label(value, box) {
    if (!canEdit || !items.length) return;
    var li = items[i];
    fetch("/api/datasets/items/" + li.dataset.id + "/label", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify({ value: value, box: box || null })
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (lab) {
      li.dataset.label = lab.value;
      li.dataset.box = lab.box ? JSON.stringify(lab.box) : "";
      li.className = "label-" + (lab.value || "none");
      li.querySelector(".value").textContent = (lab.value || "").toUpperCase();
      var by = li.querySelector(".by");
      if (by) by.textContent = lab.author;
      if (box) show(i); else show(i + 1);
    }).catch(function (e) { shown.textContent = "! " + e.message; });
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key;
    if (k === "o" || k === "O") { label("ok"); ev.preventDefault(); }
    else if (k === "n" || k === "N") { label("ng"); ev.preventDefault(); }
    else if (k === "x" || k === "X") { label(null); ev.preventDefault(); }
    else if (k === "ArrowRight" || k === "ArrowDown") { show(i + 1); ev.preventDefault(); }
    else if (k === "ArrowLeft" || k === "ArrowUp") { show(i - 1); ev.preventDefault(); }
  });
  // Drag on the image: a defect region (the item becomes NG with that box).
  var start = null;
  function rel(ev) {
    var r = img.getBoundingClientRect();
    return [Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)), Math.max(0, Math.min(1, (ev.clientY - r.top) / r.height))];
  }
  function norm(a, b) { return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]; }
  img.addEventListener("mousedown", function (ev) { if (canEdit) { start = rel(ev); ev.preventDefault(); } });
  img.addEventListener("mousemove", function (ev) { if (start) drawBox(norm(start, rel(ev))); });
  document.addEventListener("mouseup", function (ev) {
    if (!start) return;
    var b = norm(start, rel(ev));
    start = null;
    if (b[2] - b[0] > 0.01 && b[3] - b[1] > 0.01) label("ng", b.map(function (v) { return Math.round(v * 10000) / 10000; }));
    else drawBox(boxOf(items[i]));
  });

  items.forEach(function (li, k) {
    li.addEventListener("click", function (ev) { if (ev.target.tagName !== "BUTTON") show(k); });
  });
  show(0);
})();
