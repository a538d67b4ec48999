// Labeling by keyboard: o = OK, n = NG, x = clear, arrows = previous / next; click selects.
// Marking the defect: the box tool (r) drags a box; the brush (b) and the eraser (e) paint a
// mask over it ([ and ] change the brush size, Ctrl+Z undoes a stroke), saved with s or on
// moving to another image; the lasso (l) fills the outline drawn round a region (with Shift
// held, clears it). + and - zoom; the list's filter shows the NG images still to mark.
(function () {
  "use strict";
  var root = document.getElementById("labeler");
  if (!root) return;
  var all = Array.prototype.slice.call(root.querySelectorAll(".label-list li"));
  var items = all; // the images shown by the list's filter; the arrows move among them
  var canEdit = root.dataset.canEdit === "1";
  var img = document.getElementById("viewer-img");
  var name = document.getElementById("viewer-name");
  var shown = document.getElementById("viewer-label");
  var pos = document.getElementById("viewer-pos");
  var boxEl = document.getElementById("viewer-box");
  var canvas = document.getElementById("viewer-mask");
  var ctx = canvas.getContext("2d", { willReadFrequently: true }); // read back for undo and saving
  var sizeEl = document.getElementById("brush-size");
  var stateEl = document.getElementById("mask-state");
  var tools = Array.prototype.slice.call(root.querySelectorAll(".tools .tool"));
  var PAINT = "rgb(255, 40, 40)";
  var i = 0;
  var tool = "box";
  var dirty = false; // the mask on the canvas differs from the saved one
  var undo = []; // the canvas before each of the last strokes (Ctrl+Z)
  var UNDO_DEPTH = 20;

  // what: "label" or "mask" (/api/datasets/items/{id}/label, /mask)
  function api(li, what, method, body, type) {
    var headers = { "X-CSRF-Token": root.dataset.csrf };
    if (type) headers["Content-Type"] = type;
    return fetch("/api/datasets/items/" + li.dataset.id + "/" + what, {
      method: method, credentials: "same-origin", headers: headers, body: body
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || r.status); return j; });
    });
  }

  function place(el) {
    el.style.left = img.offsetLeft + "px";
    el.style.top = img.offsetTop + "px";
    el.style.width = img.clientWidth + "px";
    el.style.height = img.clientHeight + "px";
  }

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

  function setState(text) { if (stateEl) stateEl.textContent = text; }

  function setDirty(d) {
    dirty = d;
    canvas.dataset.dirty = d ? "1" : "0";
    if (stateEl) setState(d ? stateEl.dataset.unsaved : "");
  }

  // The canvas holds the mask at the preview's own pixels; a stored mask (white on black) is
  // drawn on it in the paint colour, transparent elsewhere.
  var maskLoads = 0; // loadMask calls so far

  function loadMask(li) {
    undo = [];
    canvas.width = img.naturalWidth || 1;
    canvas.height = img.naturalHeight || 1;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    place(canvas);
    setDirty(false);
    canvas.hidden = !li.dataset.mask && tool === "box";
    // painting may start once the canvas has this image's size and holds its stored mask: a
    // stroke made before would be saved without what was painted earlier
    // (an earlier load of a mask, of this image shown before or another, is not applied)
    var seq = ++maskLoads;
    var current = function () { return seq === maskLoads && items[i] === li; };
    var ready = function () { if (current()) canvas.dataset.ready = li.dataset.id; };
    if (!li.dataset.mask) { ready(); return; }
    canvas.dataset.loading = li.dataset.id; // render() called again meanwhile does not reload it
    var m = new Image();
    m.onerror = ready; // the stored mask cannot be shown: painting starts on an empty canvas
    m.onload = function () {
      if (!current()) return;
      ctx.drawImage(m, 0, 0, canvas.width, canvas.height);
      var data = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var p = data.data;
      for (var k = 0; k < p.length; k += 4) {
        var on = p[k] > 127 && p[k + 3] > 127;
        p[k] = 255; p[k + 1] = 40; p[k + 2] = 40; p[k + 3] = on ? 255 : 0;
      }
      ctx.putImageData(data, 0, 0);
      canvas.dataset.loaded = li.dataset.mask;
      ready();
    };
    m.src = li.dataset.mask;
  }

  // On the image's load (once: a second call, cached image and load event both, keeps what is
  // painted already).
  function render(li) {
    drawBox(boxOf(li));
    if (canvas.dataset.ready !== li.dataset.id && canvas.dataset.loading !== li.dataset.id) loadMask(li);
  }

  function show(k) {
    if (!items.length) return;
    if (dirty) saveMask();
    i = Math.max(0, Math.min(items.length - 1, k));
    all.forEach(function (li) { li.classList.remove("current"); li.removeAttribute("aria-current"); });
    var li = items[i];
    li.classList.add("current");
    li.setAttribute("aria-current", "true");
    li.scrollIntoView({ block: "nearest" });
    canvas.dataset.ready = ""; // no painting until the image is shown at its size
    canvas.dataset.loading = "";
    img.onload = function () { render(li); };
    img.src = li.dataset.src;
    img.alt = li.dataset.name;
    name.textContent = li.dataset.name;
    shown.textContent = (li.dataset.label || "").toUpperCase();
    pos.textContent = (i + 1) + " / " + items.length;
    if (img.complete && img.naturalWidth) render(li);
  }

  function applied(li, lab) {
    li.dataset.label = lab.value;
    li.dataset.box = lab.box ? JSON.stringify(lab.box) : "";
    li.dataset.mask = lab.mask_sha256 ? "/datasets/items/" + li.dataset.id + "/mask?v=" + lab.mask_sha256.slice(0, 12) : "";
    li.dataset.region = lab.mask_sha256 ? "mask" : (lab.box ? "box" : "");
    li.className = "label-" + (lab.value || "none") + (li === items[i] ? " current" : "");
    li.querySelector(".value").textContent = (lab.value || "").toUpperCase();
    var by = li.querySelector(".by");
    if (by) by.textContent = lab.author;
    if (li === items[i]) shown.textContent = (lab.value || "").toUpperCase();
  }

  function label(value, box) {
    if (!canEdit || !items.length) return;
    var li = items[i];
    setDirty(false); // a new label replaces an unsaved painting
    api(li, "label", "POST", JSON.stringify({ value: value, box: box || null }), "application/json").then(function (lab) {
      applied(li, lab);
      if (box) show(i); else show(i + 1);
    }).catch(function (e) { shown.textContent = "! " + e.message; });
  }

  function painted() {
    var p = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    for (var k = 3; k < p.length; k += 4) if (p[k] > 127) return true;
    return false;
  }

  // Save the painting of the current image (a PNG of the canvas; its alpha marks the defect).
  function saveMask() {
    if (!canEdit || !items.length || !dirty) return Promise.resolve();
    var li = items[i];
    setDirty(false);
    var done;
    if (!painted()) {
      done = li.dataset.mask ? api(li, "mask", "DELETE") : Promise.resolve(null);
    } else {
      // toBlob copies the canvas now: the next image may be drawn before the PNG is made
      done = new Promise(function (resolve) { canvas.toBlob(resolve, "image/png"); })
        .then(function (blob) { return api(li, "mask", "PUT", blob, "image/png"); });
    }
    return done.then(function (lab) {
      if (!lab) return;
      applied(li, lab);
      if (lab.mask_sha256 && li === items[i] && stateEl) setState(stateEl.dataset.saved);
    }).catch(function (e) { setState("! " + e.message); });
  }

  function useTool(t) {
    tool = t;
    tools.forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.tool === t ? "true" : "false"); });
    canvas.classList.toggle("painting", t !== "box");
    ring.hidden = true;
    if (t !== "box") canvas.hidden = false;
  }

  function brush(step) {
    if (!sizeEl) return;
    sizeEl.value = String(Math.max(+sizeEl.min, Math.min(+sizeEl.max, +sizeEl.value + step)));
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") return;
    if ((ev.ctrlKey || ev.metaKey) && (ev.key === "z" || ev.key === "Z") && undo.length) { undoStroke(); ev.preventDefault(); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var k = ev.key;
    if (k === "o" || k === "O") label("ok");
    else if (k === "n" || k === "N") { if (dirty) { saveMask(); show(i + 1); } else label("ng"); }
    else if (k === "x" || k === "X") label(null);
    else if (k === "ArrowRight" || k === "ArrowDown") show(i + 1);
    else if (k === "ArrowLeft" || k === "ArrowUp") show(i - 1);
    else if (canEdit && (k === "r" || k === "R")) useTool("box");
    else if (canEdit && (k === "b" || k === "B")) useTool("brush");
    else if (canEdit && (k === "e" || k === "E")) useTool("eraser");
    else if (canEdit && (k === "l" || k === "L")) useTool("lasso");
    else if (canEdit && (k === "s" || k === "S")) saveMask();
    else if (k === "+" || k === "=") zoomBy(1);
    else if (k === "-") zoomBy(-1);
    else if (k === "[") brush(-4);
    else if (k === "]") brush(4);
    else return;
    ev.preventDefault();
  });

  // Box tool: drag on the image, a defect region (the item becomes NG with that box).
  var start = null;
  function rel(ev) {
    var r = img.getBoundingClientRect();
    return [Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)), Math.max(0, Math.min(1, (ev.clientY - r.top) / r.height))];
  }
  function norm(a, b) { return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]; }
  img.addEventListener("mousedown", function (ev) { if (canEdit && tool === "box") { start = rel(ev); ev.preventDefault(); } });
  img.addEventListener("mousemove", function (ev) { if (start) drawBox(norm(start, rel(ev))); });
  document.addEventListener("mouseup", function (ev) {
    if (!start) return;
    var b = norm(start, rel(ev));
    start = null;
    if (b[2] - b[0] > 0.01 && b[3] - b[1] > 0.01) label("ng", b.map(function (v) { return Math.round(v * 10000) / 10000; }));
    else drawBox(boxOf(items[i]));
  });

  // Brush and eraser: pointer strokes on the canvas (mouse, pen or finger), in canvas pixels.
  var last = null;
  function at(ev) {
    var r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
  }
  function stroke(a, b) {
    var r = canvas.getBoundingClientRect();
    ctx.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = PAINT;
    ctx.lineWidth = (sizeEl ? +sizeEl.value : 24) * canvas.width / r.width;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0] + 0.01, b[1]);
    ctx.stroke();
    ctx.globalCompositeOperation = "source-over";
    setDirty(true);
  }
  // Undo (Ctrl+Z): the canvas as it was before each of the last strokes on this image.
  function undoStroke() {
    ctx.putImageData(undo.pop(), 0, 0);
    setDirty(true);
  }
  // The brush's outline follows the pointer, at the size it paints.
  var ring = document.createElement("div");
  ring.className = "brush-ring";
  ring.hidden = true;
  canvas.parentNode.appendChild(ring);
  function moveRing(ev) {
    var d = sizeEl ? +sizeEl.value : 24;
    var r = canvas.getBoundingClientRect();
    ring.style.width = ring.style.height = d + "px";
    ring.style.left = (canvas.offsetLeft + ev.clientX - r.left - d / 2) + "px";
    ring.style.top = (canvas.offsetTop + ev.clientY - r.top - d / 2) + "px";
    ring.hidden = false;
  }
  canvas.addEventListener("pointerleave", function () { ring.hidden = true; });
  // Lasso: draw round a region and let go; the outline is filled (with Shift held, cleared).
  var outline = null; // the lasso's points, while it is drawn
  var before = null; // the canvas before the lasso (its outline is drawn on a copy of it)
  function trace(points, fill, erase) {
    ctx.putImageData(before, 0, 0);
    ctx.globalCompositeOperation = erase ? "destination-out" : "source-over";
    ctx.strokeStyle = ctx.fillStyle = PAINT;
    ctx.lineWidth = Math.max(1, canvas.width / 400);
    ctx.beginPath();
    points.forEach(function (p, k) { if (k) ctx.lineTo(p[0], p[1]); else ctx.moveTo(p[0], p[1]); });
    if (fill) { ctx.closePath(); ctx.fill(); } else ctx.stroke();
    ctx.globalCompositeOperation = "source-over";
  }
  canvas.addEventListener("pointerdown", function (ev) {
    if (!canEdit || tool === "box" || !items.length || canvas.dataset.ready !== items[i].dataset.id) return;
    undo.push(ctx.getImageData(0, 0, canvas.width, canvas.height));
    if (undo.length > UNDO_DEPTH) undo.shift();
    canvas.setPointerCapture(ev.pointerId);
    if (tool === "lasso") {
      before = undo[undo.length - 1];
      outline = [at(ev)];
    } else {
      last = at(ev);
      stroke(last, last);
    }
    ev.preventDefault();
  });
  canvas.addEventListener("pointermove", function (ev) {
    if (tool === "brush" || tool === "eraser") moveRing(ev);
    if (outline) { outline.push(at(ev)); trace(outline, false, false); return; }
    if (!last) return;
    var p = at(ev);
    stroke(last, p);
    last = p;
  });
  function endStroke(ev) {
    last = null;
    if (!outline) return;
    if (outline.length > 2 && ev.type === "pointerup") { trace(outline, true, ev.shiftKey); setDirty(true); }
    else ctx.putImageData(before, 0, 0);
    outline = before = null;
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);

  tools.forEach(function (b) { b.addEventListener("click", function () { useTool(b.dataset.tool); b.blur(); }); });
  if (sizeEl) sizeEl.addEventListener("change", function () { sizeEl.blur(); });
  var save = document.getElementById("mask-save");
  if (save) save.addEventListener("click", function () { saveMask(); save.blur(); });
  var clear = document.getElementById("mask-clear");
  if (clear) clear.addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    setDirty(true);
    clear.blur();
  });
  // Saving the labels as a version first saves a painting not saved yet.
  var commitForm = document.getElementById("labels-commit");
  if (commitForm) commitForm.addEventListener("submit", function (ev) {
    if (!dirty) return;
    ev.preventDefault();
    saveMask().then(function () { commitForm.submit(); });
  });
  window.addEventListener("resize", function () { place(canvas); drawBox(boxOf(items[i])); });
  window.addEventListener("beforeunload", function (ev) { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });

  all.forEach(function (li) {
    li.addEventListener("click", function (ev) { if (ev.target.tagName !== "BUTTON") show(items.indexOf(li)); });
  });

  // The list's filter: all, NG, NG without a region (the images still to mark), unlabelled.
  var filters = Array.prototype.slice.call(root.querySelectorAll(".label-filter button"));
  function matches(li, f) {
    if (f === "ng") return li.dataset.label === "ng";
    if (f === "ng-unmarked") return li.dataset.label === "ng" && !li.dataset.region;
    if (f === "none") return !li.dataset.label;
    return true;
  }
  filters.forEach(function (b) {
    b.addEventListener("click", function () {
      if (dirty) saveMask();
      filters.forEach(function (o) { o.setAttribute("aria-pressed", o === b ? "true" : "false"); });
      items = all.filter(function (li) { li.hidden = !matches(li, b.dataset.filter); return !li.hidden; });
      b.blur();
      if (items.length) show(0);
      else { img.removeAttribute("src"); canvas.hidden = true; boxEl.hidden = true; pos.textContent = "0 / 0"; }
    });
  });

  // Zoom (+ / -): the image, its mask and its box grow inside a frame that scrolls.
  var frame = document.getElementById("zoom-frame");
  var stage = frame.querySelector(".stage");
  var zoomLevel = document.getElementById("zoom-level");
  var ZOOMS = [1, 2, 4, 8];
  var zoom = 1, baseWidth = 0;
  function setZoom(z) {
    if (zoom === 1) baseWidth = stage.getBoundingClientRect().width;
    zoom = z;
    stage.style.width = z === 1 ? "" : (baseWidth * z) + "px";
    stage.style.maxWidth = img.style.maxWidth = z === 1 ? "" : "none";
    zoomLevel.textContent = (z * 100) + "%";
    place(canvas);
    if (items.length) drawBox(boxOf(items[i]));
  }
  function zoomBy(step) {
    var k = ZOOMS.indexOf(zoom) + step;
    if (k >= 0 && k < ZOOMS.length) setZoom(ZOOMS[k]);
  }
  document.getElementById("zoom-in").addEventListener("click", function (ev) { zoomBy(1); ev.currentTarget.blur(); });
  document.getElementById("zoom-out").addEventListener("click", function (ev) { zoomBy(-1); ev.currentTarget.blur(); });
  // a link to one image (#item-<id>: the evaluation report's good images to check, the form's
  // redirect) opens that image; else the first
  var linked = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  show(Math.max(0, items.indexOf(linked)));
})();
