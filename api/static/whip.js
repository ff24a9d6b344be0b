// The room camera page (/terminal/stream): publish camera and microphone with WHIP (RFC 9725).
// Non-trickle: the offer is sent once ICE gathering is complete; the answer carries every candidate.
"use strict";

(() => {
  const root = document.getElementById("room-stream");
  if (!root) return;
  const M = JSON.parse(document.getElementById("stream-messages").textContent);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : `{${k}}`));
  const stateEl = document.getElementById("stream-state");
  const detail = document.getElementById("stream-detail");
  const preview = document.getElementById("preview");
  const startBtn = document.getElementById("stream-start");
  const stopBtn = document.getElementById("stream-stop");
  const headers = { "X-CSRF-Token": root.dataset.csrf };
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  const GATHER_LIMIT_MS = 5000;
  const DISCONNECTED_GRACE_MS = 4000;

  let media = null;
  let low = null;  // the low layer (a scaled clone of the camera) for wall tiles
  let pc = null;
  let resource = null; // the session's URL (Location), DELETE ends it
  let wanted = false;
  let failures = 0;
  let retryTimer = null;

  const setState = (name, text = "") => {
    stateEl.textContent = M[`stream.state.${name}`] || name;
    stateEl.className = `badge stream-${name}`;
    root.dataset.state = name;
    detail.textContent = text;
  };

  const gathered = (conn) => new Promise((resolve) => {
    if (conn.iceGatheringState === "complete") { resolve(); return; }
    const done = () => { if (conn.iceGatheringState === "complete") resolve(); };
    conn.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_LIMIT_MS); // send what was gathered rather than wait for ever
  });

  const release = () => {
    if (resource) {
      // keepalive: the request outlives the page when it is being closed.
      fetch(resource, { method: "DELETE", headers, credentials: "same-origin", keepalive: true }).catch(() => {});
      resource = null;
    }
    if (pc) { pc.close(); pc = null; }
  };

  const retry = () => {
    release();
    if (!wanted) return;
    const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
    failures += 1;
    setState("reconnecting", fill(M["stream.retry_in"], { seconds: Math.round(delay / 1000) }));
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  };

  async function connect() {
    if (!wanted || !media) return;
    const conn = new RTCPeerConnection();
    pc = conn;
    for (const track of media.getTracks()) conn.addTransceiver(track, { direction: "sendonly", streams: [media] });
    // The low layer for wall tiles: a second, small video track the service forwards as it comes.
    if (low) {
      const layer = conn.addTransceiver(low, { direction: "sendonly", streams: [media],
        sendEncodings: [{ maxBitrate: Number(root.dataset.lowBitrate), maxFramerate: Number(root.dataset.lowFps),
                          priority: "high" }] });
      // VP8 for the small layer: cheap to encode beside the camera's H.264.
      const caps = RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities("video");
      const vp8 = caps ? caps.codecs.filter((c) => /vp8|rtx/i.test(c.mimeType)) : [];
      if (vp8.length && layer.setCodecPreferences) layer.setCodecPreferences(vp8);
    }
    conn.addEventListener("connectionstatechange", () => {
      if (pc !== conn) return;
      if (conn.connectionState === "connected") { failures = 0; setState("publishing"); }
      if (conn.connectionState === "failed" || conn.connectionState === "closed") retry();
      // "disconnected" may heal by itself; if it lasts, do not wait ~30 s for ICE to declare "failed".
      if (conn.connectionState === "disconnected") {
        setTimeout(() => { if (pc === conn && conn.connectionState === "disconnected") retry(); }, DISCONNECTED_GRACE_MS);
      }
    });
    try {
      await conn.setLocalDescription(await conn.createOffer());
      await gathered(conn);
      const response = await fetch(root.dataset.whip, {
        method: "POST", credentials: "same-origin", body: conn.localDescription.sdp,
        headers: { ...headers, "Content-Type": "application/sdp" },
      });
      if (pc !== conn) return;
      if (response.status !== 201) throw new Error(`HTTP ${response.status}`);
      resource = new URL(response.headers.get("Location"), window.location.href).href;
      await conn.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (e) {
      if (pc === conn) retry();
    }
  }

  const start = async () => {
    if (wanted) return;
    wanted = true;
    failures = 0;
    startBtn.disabled = true;
    stopBtn.disabled = false;
    setState("starting");
    try {
      media = media || await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (e) {
      wanted = false;
      startBtn.disabled = false;
      stopBtn.disabled = true;
      const denied = e && (e.name === "NotAllowedError" || e.name === "SecurityError");
      setState("stopped", M[denied ? "stream.camera.denied" : "stream.camera.absent"]);
      return;
    }
    preview.srcObject = media;
    const camera = media.getVideoTracks()[0];
    if (root.dataset.lowWidth && camera && !low) {
      low = camera.clone();
      const width = Number(root.dataset.lowWidth);
      try {
        await low.applyConstraints({ width: { max: width }, height: { max: Math.round(width * 3 / 4) },
                                     frameRate: { max: Number(root.dataset.lowFps) } });
      } catch (e) { /* a camera that cannot scale: the layer goes at the encoder's limits */ }
    }
    connect();
  };

  const stop = () => {
    wanted = false;
    clearTimeout(retryTimer);
    release();
    if (media) { media.getTracks().forEach((t) => t.stop()); media = null; }
    if (low) { low.stop(); low = null; }
    preview.srcObject = null;
    startBtn.disabled = false;
    stopBtn.disabled = true;
    setState("stopped");
  };

  startBtn.addEventListener("click", start);
  stopBtn.addEventListener("click", stop);
  window.addEventListener("pagehide", release);
  start(); // a room's camera PC publishes as soon as the page opens
})();
