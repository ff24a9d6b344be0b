// Recording playback: timeline entries seek the run's <video>; the verify button asks the API.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const link of document.querySelectorAll("[data-seek-run]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const video = document.getElementById("run-" + link.dataset.seekRun);
      if (!video) return;
      video.currentTime = parseFloat(link.dataset.seekAt);
      video.scrollIntoView({ block: "nearest" });
    });
  }

  const box = document.getElementById("verify");
  const button = document.getElementById("verify-button");
  const out = document.getElementById("verify-result");
  if (!box || !button || !out) return;
  const text = JSON.parse(box.dataset.text);

  function show(report) {
    out.replaceChildren();
    out.className = report.ok ? "ok" : "error";
    const head = document.createElement("p");
    head.textContent = report.ok ? text.ok.replace("{n}", report.checked) : text.failed;
    out.append(head);
    if (report.ok) return;
    const list = document.createElement("ul");
    for (const key of ["missing", "altered", "unledgered", "extra", "index_gaps", "playlist_problems"]) {
      if (!report[key] || report[key].length === 0) continue;
      const item = document.createElement("li");
      item.textContent = text[key] + ": " + report[key].join(", ");
      list.append(item);
    }
    out.append(list);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    out.className = "";
    out.textContent = text.busy;
    try {
      const response = await fetch(box.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": box.dataset.csrf, "Accept": "application/json" },
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      show(await response.json());
    } catch (error) {
      out.className = "error";
      out.textContent = text.error + error.message;
    } finally {
      button.disabled = false;
    }
  });
});
