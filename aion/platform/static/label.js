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
  var i = 0;

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
  }

  function label(value) {
    if (!canEdit || !items.length) return;
    var li = items[i];
    fetch("/api/datasets/items/" + li.dataset.id + "/label", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify({ value: value })
    }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (lab) {
      li.dataset.label = lab.value;
      li.className = "label-" + (lab.value || "none");
      li.querySelector(".value").textContent = (lab.value || "").toUpperCase();
      var by = li.querySelector(".by");
      if (by) by.textContent = lab.author;
      show(i + 1);
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
  items.forEach(function (li, k) {
    li.addEventListener("click", function (ev) { if (ev.target.tagName !== "BUTTON") show(k); });
  });
  show(0);
})();
