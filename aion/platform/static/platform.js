// Resumable uploads from the browser: each file is sent in 8 MiB chunks through the upload API;
// after a failure the client asks where the server stands and continues from there.
(function () {
  "use strict";
  var form = document.getElementById("resumable");
  if (!form) return;
  var CHUNK = 8 * 1024 * 1024;
  var datasetId = form.dataset.dataset;
  var status = document.getElementById("big-status");
  var bar = document.getElementById("big-progress");
  var headers = { "X-CSRF-Token": form.dataset.csrf };

  function api(method, url, body, type) {
    var h = Object.assign({}, headers);
    if (type) h["Content-Type"] = type;
    return fetch(url, { method: method, headers: h, body: body, credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { var e = new Error(data.detail || r.status); e.data = data; throw e; }
        return data;
      });
    });
  }

  function sendFile(file, done, total) {
    return api("POST", "/api/datasets/" + datasetId + "/uploads",
      JSON.stringify({ filename: file.name, size: file.size }), "application/json").then(function (up) {
      var tries = 0;
      function next(offset) {
        bar.value = total ? (done + offset) / total : 1;
        if (offset >= file.size) return up.upload_id;
        var end = Math.min(offset + CHUNK, file.size);
        return api("PUT", "/api/uploads/" + up.upload_id + "?offset=" + offset, file.slice(offset, end), "application/octet-stream")
          .then(function (s) { tries = 0; return next(s.offset); })
          .catch(function (e) {
            if (++tries > 5) throw e;
            return new Promise(function (ok) { setTimeout(ok, 500 * tries); })
              .then(function () { return api("GET", "/api/uploads/" + up.upload_id); })
              .then(function (s) { return next(s.offset); });
          });
      }
      return next(0);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var files = Array.prototype.slice.call(document.getElementById("big-files").files);
    if (!files.length) return;
    var total = files.reduce(function (a, f) { return a + f.size; }, 0);
    var ids = [], done = 0;
    status.textContent = "…";
    files.reduce(function (p, f) {
      return p.then(function () { return sendFile(f, done, total); }).then(function (id) { ids.push(id); done += f.size; });
    }, Promise.resolve()).then(function () {
      return api("POST", "/api/datasets/" + datasetId + "/versions", JSON.stringify({ uploads: ids, skip_problems: document.getElementById("big-skip").checked }), "application/json");
    }).then(function (v) {
      status.textContent = form.dataset.msgDone;
      window.location.href = "/datasets/" + datasetId + "/versions/" + v.id + "?msg=created";
    }).catch(function (e) {
      var lines = [form.dataset.msgFailed + ": " + e.message];
      ((e.data && e.data.problems) || []).forEach(function (p) { lines.push(p.path + ": " + p.reason); });
      status.textContent = lines.join("\n");
      status.className = "error";
    });
  });
})();
