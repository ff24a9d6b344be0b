// The live walls (/wall/projects/{code}, /wall/sites/{code}): each tile watches its room with WHEP
// (receive only, non-trickle) and polls the room's stream state and check-in counts. Tiles show the
// room's small shared thumbnail (layer=thumb); "full quality" reconnects the tile to the room's own stream.
"use strict";

(() => {
  const wall = document.getElementById("wall");
  if (!wall) return;
  const M = JSON.parse(document.getElementById("wall-messages").textContent);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : `{${k}}`));
  const headers = { "X-CSRF-Token": wall.dataset.csrf };
  const pollMs = Number(wall.dataset.poll || 5) * 1000;
  const offsetHours = Number(wall.dataset.utcOffset || 8);
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  const GATHER_LIMIT_MS = 5000;
  const DISCONNECTED_GRACE_MS = 4000;
  const EVENTS_SHOWN = 8;
  const hms = (iso) => {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return new Date(d.getTime() + offsetHours * 3600000).toISOString().slice(11, 19);
  };
  const gathered = (conn) => new Promise((resolve) => {
    if (conn.iceGatheringState === "complete") { resolve(); return; }
    conn.addEventListener("icegatheringstatechange", () => { if (conn.iceGatheringState === "complete") resolve(); });
    setTimeout(resolve, GATHER_LIMIT_MS);
  });
  const sessions = new Set(); // resource URLs to DELETE on leaving

  const tile = (node) => {
    const room = node.dataset.room;
    const base = `/api/rooms/${encodeURIComponent(room)}`;
    const video = node.querySelector("video");
    const badge = node.querySelector(".stream-state");
    const rec = node.querySelector(".rec");
    const viewers = node.querySelector(".viewers");
    const unmute = node.querySelector(".unmute");
    const quality = node.querySelector(".quality");
    let layer = "thumb";
    const events = node.querySelector(".events");
    let pc = null;
    let resource = null;
    let failures = 0;
    let timer = null;
    let stopped = false; // refused for good (out of scope): no retry
    const seenPublish = new Map(); // publisher session -> since

    const state = (name, text) => {
      if (!badge) return;
      badge.textContent = text || M[`wall.state.${name}`] || name;
      badge.className = `badge stream-state stream-${name}`;
      node.dataset.state = name;
    };

    const release = () => {
      if (resource) {
        fetch(resource, { method: "DELETE", headers, credentials: "same-origin", keepalive: true }).catch(() => {});
        sessions.delete(resource);
        resource = null;
      }
      if (pc) { pc.close(); pc = null; }
    };

    const retry = () => {
      release();
      if (stopped) return;
      const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
      failures += 1;
      clearTimeout(timer);
      timer = setTimeout(connect, delay);
    };

    async function connect() {
      const conn = new RTCPeerConnection();
      pc = conn;
      conn.addTransceiver("video", { direction: "recvonly" });
      conn.addTransceiver("audio", { direction: "recvonly" });
      const stream = new MediaStream();
      conn.addEventListener("track", (ev) => {
        stream.addTrack(ev.track);
        if (video.srcObject !== stream) video.srcObject = stream;
        video.play().catch(() => {});
      });
      conn.addEventListener("connectionstatechange", () => {
        if (pc !== conn) return;
        if (conn.connectionState === "connected") failures = 0;
        if (conn.connectionState === "failed" || conn.connectionState === "closed") retry();
        // "disconnected" may heal by itself; if it lasts, do not wait ~30 s for ICE to declare "failed".
        if (conn.connectionState === "disconnected") {
          setTimeout(() => { if (pc === conn && conn.connectionState === "disconnected") retry(); }, DISCONNECTED_GRACE_MS);
        }
      });
      try {
        await conn.setLocalDescription(await conn.createOffer());
        await gathered(conn);
        const response = await fetch(`${base}/whep?layer=${layer}`, {
          method: "POST", credentials: "same-origin", body: conn.localDescription.sdp,
          headers: { ...headers, "Content-Type": "application/sdp" },
        });
        if (pc !== conn) return;
        if (response.status === 404 || response.status === 403 || response.status === 401) {
          stopped = true;
          state("error", fill(M["wall.state.error"], { status: response.status }));
          release();
          return;
        }
        if (response.status !== 201) throw new Error(`HTTP ${response.status}`);
        resource = new URL(response.headers.get("Location"), window.location.href).href;
        sessions.add(resource);
        await conn.setRemoteDescription({ type: "answer", sdp: await response.text() });
      } catch (e) {
        if (pc === conn) retry();
      }
    }

    const showEvents = (items) => {
      items.sort((a, b) => (a.at < b.at ? 1 : -1));
      events.replaceChildren();
      if (!items.length) {
        const li = document.createElement("li");
        li.className = "muted";
        li.textContent = M["wall.no_events"];
        events.append(li);
      }
      for (const item of items.slice(0, EVENTS_SHOWN)) {
        const li = document.createElement("li");
        li.dataset.kind = item.kind;
        li.textContent = `${hms(item.at)} ${item.text}`;
        events.append(li);
      }
    };

    const poll = async () => {
      const items = [];
      try {
        const r = await fetch(`${base}/stream`, { credentials: "same-origin" });
        if (r.ok) {
          const s = await r.json();
          if (s.publishing && s.publisher_session) seenPublish.set(s.publisher_session, s.publisher_since);
          const live = s.publishing && !s.stalled;
          const playing = video && video.readyState >= 2 && video.videoWidth > 0;
          if (!stopped) state(live ? (playing ? "live" : "connecting") : (s.publishing ? "stalled" : "waiting"));
          if (rec) rec.hidden = !s.recording;
          if (viewers) viewers.textContent = fill(M["wall.viewers"], { n: s.viewers });
          for (const a of s.alerts || []) {
            items.push({ at: a.at, kind: "alert", text: M[`wall.event.alert.${a.reason}`] || a.reason });
          }
          for (const since of seenPublish.values()) {
            if (since) items.push({ at: since, kind: "publish", text: M["wall.event.publishing"] });
          }
        }
      } catch (e) { /* the next poll tries again */ }
      try {
        const r = await fetch(`/api/checkin/rooms/${encodeURIComponent(room)}`, { credentials: "same-origin" });
        if (r.ok) {
          const status = await r.json();
          for (const p of status.projects || []) {
            const row = node.querySelector(`tr[data-project="${CSS.escape(p.code)}"]`);
            if (!row) continue;
            row.querySelector(".phase").textContent = M[`terminal.phase.${p.phase}`] || p.phase;
            row.querySelector(".counts").textContent = fill(M["wall.counts"], p);
            for (const c of p.checkins || []) { // names only once unsealed: the API decides (D5)
              items.push({ at: c.at, kind: "checkin", text: `${p.code} ${fill(M["wall.event.checkin"], { name: c.expert_name })}` });
            }
          }
        }
      } catch (e) { /* the next poll tries again */ }
      showEvents(items);
    };

    if (unmute && video) {
      unmute.addEventListener("click", () => {
        video.muted = !video.muted;
        unmute.textContent = video.muted ? M["wall.unmute"] : M["wall.mute"];
        video.play().catch(() => {});
      });
    }
    if (quality && video) {
      quality.addEventListener("click", () => {
        layer = layer === "thumb" ? "full" : "thumb";
        node.dataset.layer = layer;
        quality.textContent = layer === "thumb" ? M["wall.full"] : M["wall.thumb"];
        failures = 0;
        release();
        clearTimeout(timer);
        connect();
      });
    }
    if (video) {
      video.addEventListener("playing", poll); // say "live" as soon as it plays, not at the next poll
      connect();
    }
    poll();
    setInterval(poll, pollMs);
  };

  document.querySelectorAll(".wall-tile").forEach((node) => {
    if (node.dataset.viewable === "true") tile(node);
  });
  window.addEventListener("pagehide", () => {
    for (const url of sessions) {
      fetch(url, { method: "DELETE", headers, credentials: "same-origin", keepalive: true }).catch(() => {});
    }
    sessions.clear();
  });
})();
