// The training form's inspection area: drag on the photo to draw the box the model inspects
// (the "crop" field) or a box whose changes never count (appended to the "ignore" field). The
// fields hold the boxes as shares of the photo (left,top,right,bottom), so they can also be
// typed; each drawn ignore box has a button that removes it.
(function () {
  "use strict";
  var stage = document.getElementById("area-stage");
  var img = document.getElementById("area-photo");
  var cropIn = document.getElementById("area-crop");
  var ignoreIn = document.getElementById("area-ignore");
  if (!stage || !img || !cropIn || !ignoreIn) return;
  var MIN = 0.01; // a drag smaller than this share of the photo is a click, not a box

  function tool() {
    var checked = document.querySelector("input[name=area_tool]:checked");
    return checked ? checked.value : "crop";
  }
  function parse(text) {
    var parts = text.split(",").map(function (p) { return p.trim(); });
    if (parts.length !== 4) return null;
    var v = parts.map(function (p) {
      var pct = p.slice(-1) === "%";
      var x = parseFloat(pct ? p.slice(0, -1) : p);
      return pct ? x / 100 : x;
    });
    return v.every(function (x) { return isFinite(x) && x >= 0 && x <= 1; }) && v[2] > v[0] && v[3] > v[1] ? v : null;
  }
  function text(b) { return b.map(function (x) { return String(Math.round(x * 1000) / 1000); }).join(","); }
  function ignores() { return ignoreIn.value.split(/[;\n]/).map(function (t) { return t.trim(); }).filter(Boolean); }

  function place(el, b) {
    var w = img.clientWidth, h = img.clientHeight;
    el.style.left = (img.offsetLeft + b[0] * w) + "px";
    el.style.top = (img.offsetTop + b[1] * h) + "px";
    el.style.width = ((b[2] - b[0]) * w) + "px";
    el.style.height = ((b[3] - b[1]) * h) + "px";
  }
  function box(kind, b) {
    var el = document.createElement("div");
    el.className = "area-box " + kind;
    place(el, b);
    stage.appendChild(el);
    return el;
  }
  function render() {
    Array.prototype.slice.call(stage.querySelectorAll(".area-box")).forEach(function (el) { el.remove(); });
    var crop = parse(cropIn.value);
    if (crop) box("crop", crop);
    ignores().forEach(function (t, k) {
      var b = parse(t);
      if (!b) return;
      var el = box("ignore", b);
      var x = document.createElement("button");
      x.type = "button";
      x.className = "area-remove";
      x.textContent = "×";
      x.title = stage.dataset.removeText || "Remove";
      x.addEventListener("click", function (ev) {
        ev.stopPropagation();
        var rest = ignores();
        rest.splice(k, 1);
        ignoreIn.value = rest.join("; ");
        render();
      });
      el.appendChild(x);
    });
  }

  function at(ev) {
    var r = img.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height))];
  }
  var start = null, drawing = null;
  function span(a, b) { return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]; }
  stage.addEventListener("pointerdown", function (ev) {
    if (ev.target.classList.contains("area-remove")) return;
    start = at(ev);
    drawing = box(tool() + " drawing", [start[0], start[1], start[0], start[1]]);
    stage.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  stage.addEventListener("pointermove", function (ev) { if (start) place(drawing, span(start, at(ev))); });
  stage.addEventListener("pointerup", function (ev) {
    if (!start) return;
    var b = span(start, at(ev));
    start = null;
    if (b[2] - b[0] >= MIN && b[3] - b[1] >= MIN) {
      if (tool() === "crop") cropIn.value = text(b);
      else ignoreIn.value = ignores().concat([text(b)]).join("; ");
    }
    render();
  });
  // "Where is the part found?": the crop as the engine would move it in the version's first photos
  // (the API's area-preview), each photo with its box and how well the part matched
  var previewBtn = document.getElementById("area-preview-btn");
  var previewOut = document.getElementById("area-preview");
  var previewStatus = document.getElementById("area-preview-status");
  var reference = document.getElementById("area-reference");
  if (previewBtn && previewOut && previewStatus && reference) {
    previewBtn.addEventListener("click", function () {
      previewOut.textContent = "";
      if (!parse(cropIn.value)) { previewStatus.textContent = previewBtn.dataset.emptyText; return; }
      previewStatus.textContent = "…";
      var turnIn = document.getElementById("area-turn");
      var q = "?crop=" + encodeURIComponent(cropIn.value) + "&reference=" + encodeURIComponent(reference.value) +
        "&turn=" + encodeURIComponent(turnIn ? turnIn.value : "");
      fetch(previewBtn.dataset.url + q, { credentials: "same-origin" }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (res) {
        if (!res.ok) { previewStatus.textContent = res.body.detail || String(res.body); return; }
        previewStatus.textContent = "";
        res.body.photos.forEach(function (p) {
          var fig = document.createElement("figure");
          fig.className = p.weak ? "weak" : "";
          var thumb = document.createElement("div");
          thumb.className = "area-thumb";
          var im = document.createElement("img");
          im.src = "/datasets/items/" + p.item_id + "/preview?size=256";
          im.alt = p.path;
          var found = document.createElement("div");
          found.className = "area-found";
          found.style.left = (p.box[0] * 100) + "%";
          found.style.top = (p.box[1] * 100) + "%";
          found.style.width = ((p.box[2] - p.box[0]) * 100) + "%";
          found.style.height = ((p.box[3] - p.box[1]) * 100) + "%";
          // the engine's angle is counter-clockwise on screen; CSS turns clockwise
          if (p.angle) found.style.transform = "rotate(" + (-p.angle) + "deg)";
          thumb.appendChild(im);
          thumb.appendChild(found);
          var cap = document.createElement("figcaption");
          cap.textContent = p.path + " · " + p.match.toFixed(2) + (p.angle ? " · " + (p.angle > 0 ? "+" : "") + p.angle.toFixed(1) + "°" : "") +
            (p.weak ? " · " + previewBtn.dataset.weakText : "");
          fig.appendChild(thumb);
          fig.appendChild(cap);
          previewOut.appendChild(fig);
        });
      }).catch(function (e) { previewStatus.textContent = String(e); });
    });
  }
  // the turn is only searched for an area that follows the part: off (and not sent) otherwise
  var alignBox = document.getElementById("area-align");
  var turnField = document.getElementById("area-turn");
  if (alignBox && turnField) {
    var syncTurn = function () { turnField.disabled = !alignBox.checked; };
    alignBox.addEventListener("change", syncTurn);
    syncTurn();
  }
  document.getElementById("area-clear").addEventListener("click", function () { cropIn.value = ""; ignoreIn.value = ""; render(); });
  cropIn.addEventListener("input", render);
  ignoreIn.addEventListener("input", render);
  window.addEventListener("resize", render);
  if (img.complete) render(); else img.addEventListener("load", render);
})();
