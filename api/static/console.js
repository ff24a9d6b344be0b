// Small progressive enhancements; every form also works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before destructive actions.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (ev) => { if (!window.confirm(el.dataset.confirm)) ev.preventDefault(); });
  });
  // A long draw: disable the button so it is not sent twice.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }));
  });
  // A room list that belongs to a site list (the closure form): offer only the chosen site's rooms.
  document.querySelectorAll("select[data-rooms-of]").forEach((rooms) => {
    const sites = rooms.form && rooms.form.elements.namedItem(rooms.dataset.roomsOf);
    if (!sites) return;
    const narrow = () => {
      rooms.querySelectorAll("optgroup[data-site]").forEach((group) => {
        const mine = group.dataset.site === sites.value;
        group.hidden = !mine; group.disabled = !mine;
        if (!mine && group.contains(rooms.selectedOptions[0])) rooms.value = "";
      });
    };
    sites.addEventListener("change", narrow);
    narrow();
  });
  // Progress of a long operation (import, day plan): poll it until it is done.
  document.querySelectorAll("[data-operation]").forEach((box) => {
    const bar = box.querySelector(".progress > div");
    const label = box.querySelector(".progress-label");
    // The status words in the page's language (the server renders them into data-labels).
    const labels = JSON.parse(box.dataset.labels || "{}");
    const poll = async () => {
      try {
        const r = await fetch(`/api/operations/${encodeURIComponent(box.dataset.operation)}`, { credentials: "same-origin" });
        if (!r.ok) { if (label) label.textContent = `HTTP ${r.status}`; return; }
        const op = await r.json();
        const done = op.done ?? op.processed ?? 0; const total = op.total ?? 0;
        const pct = total ? Math.round((100 * done) / total) : (op.status === "done" ? 100 : 0);
        if (bar) bar.style.width = `${pct}%`;
        if (label) label.textContent = `${labels[op.status] ?? op.status ?? ""} ${pct}%`;
        const finished = ["done", "failed"].includes(op.status);
        if (!finished) setTimeout(poll, 1000);
        // A page that renders the outcome itself (the day plan's report and links) reloads once at the end.
        else if ("reload" in box.dataset) window.location.reload();
      } catch (e) { setTimeout(poll, 3000); }
    };
    poll();
  });
});
