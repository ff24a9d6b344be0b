// The public watch page of a bid opening (/watch/{token}): WHEP receive-only on /api/watch/{token}/whep,
// no login and no cookie; reconnects with backoff, waits when the opening is full, stops when it is over.
"use strict";

(() => {
  const page = document.getElementById("watch");
  const video = page && page.querySelector("video");
  if (!video) return;
  const M = JSON.parse(document.getElementById("watch-messages").textContent);
  const endpoint = `/api/watch/${encodeURIComponent(page.dataset.token)}/whep`;
  const badge = page.querySelector(".watch-state");
  const unmute = page.querySelector(".unmute");
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  const FULL_RETRY_MS = 15000;
  let pc = null;
  let resource = null;
  let failures = 0;
  let timer = null;
  let done = false;

  const state = (name) => {
    badge.textContent = M[`watch.state.${name}`] || name;
    badge.className = `badge watch-state watch-${name}`;
    page.dataset.state = name;
  };
  const release = () => {
    if (resource) {
      fetch(resource, { method: "DELETE", credentials: "omit", keepalive: true }).catch(() => {});
      resource = null;
    }
    if (pc) { pc.close(); pc = null; }
  };
  const again = (delay) => {
    release();
    if (done) return;
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  };
  const retry = () => { again(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]); failures += 1; };
  const gathered = (conn) => new Promise((resolve) => {
    if (conn.iceGatheringState === "complete") { resolve(); return; }
    conn.addEventListener("icegatheringstatechange", () => { if (conn.iceGatheringState === "complete") resolve(); });
    setTimeout(resolve, 5000);
  });

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
      if (conn.connectionState === "connected") { failures = 0; state("live"); }
      if (conn.connectionState === "failed" || conn.connectionState === "closed") { state("waiting"); retry(); }
    });
    try {
      state("connecting");
      await conn.setLocalDescription(await conn.createOffer());
      await gathered(conn);
      const response = await fetch(endpoint, {
        method: "POST", credentials: "omit", body: conn.localDescription.sdp,
        headers: { "Content-Type": "application/sdp" },
      });
      if (pc !== conn) return;
      if (response.status === 403) { done = true; state("over"); release(); return; }
      if (response.status === 404) { done = true; state("error"); release(); return; }
      if (response.status === 429) { state("full"); again(FULL_RETRY_MS); return; }
      if (response.status !== 201) throw new Error(`HTTP ${response.status}`);
      resource = new URL(response.headers.get("Location"), window.location.href).href;
      await conn.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (e) {
      if (pc === conn) { state("waiting"); retry(); }
    }
  }

  unmute.addEventListener("click", () => {
    video.muted = !video.muted;
    unmute.textContent = video.muted ? M["wall.unmute"] : M["wall.mute"];
  });
  window.addEventListener("pagehide", release);
  connect();
})();
