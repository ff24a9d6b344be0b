// A room's public openings page (/rooms/{code}/openings): how many anonymous viewers watch now, polled
// from the room's stream state.
"use strict";

(() => {
  const page = document.getElementById("openings");
  const out = document.getElementById("watching");
  if (!page || !out) return;
  const url = `/api/rooms/${encodeURIComponent(page.dataset.room)}/stream`;
  const poll = async () => {
    try {
      const r = await fetch(url, { credentials: "same-origin" });
      if (r.ok) out.textContent = String((await r.json()).public_viewers);
    } catch (e) { /* the next poll tries again */ }
  };
  poll();
  setInterval(poll, 5000);
})();
