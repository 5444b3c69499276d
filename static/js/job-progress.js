// Follows a job through the API until it ends; the status line is a live region.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) return;
  var bar = document.getElementById("job-progress"), status = document.getElementById("job-status");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.rows_total) { bar.max = job.rows_total; bar.value = job.rows_done || 0; }
        if (job.state === "finished") {
          bar.max = 1; bar.value = 1;
          status.textContent = job.result === "error" ? box.dataset.failed
            : box.dataset.done + (job.summary ? " " + job.summary : "");
          return;
        }
        status.textContent = job.status_message || status.textContent;
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
