// While a meeting video is being made, show its progress; reload the page when it is ready (or has failed).
(function () {
  "use strict";
  var waiting = document.querySelectorAll("[data-testid=program-progress]");
  if (!waiting.length) return;
  var meeting = location.pathname.split("/")[2];
  function poll() {
    fetch("/api/meetings/" + meeting + "/recordings", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        var byId = {};
        data.recordings.forEach(function (r) { byId[r.id] = r; });
        var finished = false;
        waiting.forEach(function (element) {
          var r = byId[element.getAttribute("data-recording")];
          if (!r || r.status === "ready" || r.status === "failed") { finished = true; return; }
          element.setAttribute("data-status", r.status);
          element.querySelector("progress").value = r.progress;
          element.querySelector(".percent").textContent = Math.round(r.progress * 100) + "%";
        });
        if (finished) location.reload();
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
