// The check-in kiosk (/terminal) and the room check-in page (/checkin/rooms/{code}).
// Frames are captured unmirrored (only the preview is mirrored, by CSS), sent once and dropped.
"use strict";

(() => {
  const RESET_AFTER_MS = { ok: 6000, fail: 9000 };
  const LOOK_STRAIGHT_MS = 1000;

  const messagesFrom = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  };
  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : `{${k}}`));
  // Times in the deployment's display zone (as the server renders them), whatever the browser's zone.
  let utcOffsetHours = 8;
  const localText = (iso, from, to) => {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return new Date(d.getTime() + utcOffsetHours * 3600000).toISOString().slice(from, to).replace("T", " ");
  };
  const hm = (iso) => localText(iso, 11, 16);
  const hms = (iso) => localText(iso, 11, 19);
  const el = (tag, attrs = {}, text = "") => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  };

  // The first error of the API's {"detail": [{loc, msg, type}]} shape.
  const firstError = async (response) => {
    try {
      const body = await response.json();
      const item = Array.isArray(body.detail) ? body.detail[0] : null;
      return item || { type: "", msg: typeof body.detail === "string" ? body.detail : "" };
    } catch (e) {
      return { type: "", msg: `HTTP ${response.status}` };
    }
  };

  // ---------------------------------------------------------------- the kiosk
  const kiosk = (root) => {
    const M = messagesFrom("terminal-messages");
    const csrf = root.dataset.csrf;
    const form = document.getElementById("id-form");
    const input = document.getElementById("id-number");
    const submit = document.getElementById("id-submit");
    const stage = document.getElementById("stage");
    const video = document.getElementById("camera");
    const prompt = document.getElementById("prompt");
    const outcome = document.getElementById("outcome");
    const panel = document.getElementById("signoff-panel");
    const confirmBox = document.getElementById("confirm-hash");
    let mode = "checkin";
    let busy = false;
    let resetTimer = null;

    const say = (text) => { prompt.textContent = text; };
    const show = (kind, lines) => {
      outcome.hidden = false;
      outcome.className = `kiosk-outcome ${kind}`;
      outcome.replaceChildren(...lines.map((line, i) => el(i === 0 ? "strong" : "p", {}, line)));
    };
    const failureText = (err) => {
      const type = err.type || "";
      if (M[type]) return M[type];
      if (type.startsWith("checkin.liveness.")) return `${M["terminal.fail.liveness"]}${err.msg ? ` (${err.msg})` : ""}`;
      return err.msg || M["terminal.fail.generic"];
    };

    const renderProjects = (info) => {
      const clockEl = document.getElementById("kiosk-clock");
      if (clockEl && info.now) clockEl.textContent = localText(info.now, 0, 16);
      const list = document.getElementById("projects");
      const items = (info.projects || []).map((p) => {
        const li = el("li", { "data-project": p.code });
        li.append(el("strong", {}, p.code), ` ${hm(p.start)} `,
          el("span", { class: `badge phase-${p.phase}` }, M[`terminal.phase.${p.phase}`] || p.phase), " ",
          el("span", { class: "muted" }, fill(M["terminal.counts"], p)));
        return li;
      });
      list.replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, M["terminal.projects.none"])]));
      // Keep the expert's choice of report when it is still current.
      const reports = document.getElementById("reports");
      const chosen = reports.querySelector("input[name=report]:checked");
      const signable = (info.projects || []).filter((p) => (p.phase === "evaluating" || p.phase === "ended") && p.report_sha256);
      const rows = signable.map((p, i) => {
        const label = el("label", { class: "report" });
        const radio = el("input", { type: "radio", name: "report", value: p.report_sha256, "data-project": p.code });
        radio.checked = chosen ? chosen.value === p.report_sha256 : i === 0;
        const code = el("code", { class: "sha256", "aria-label": "SHA-256" });
        code.append(...(p.report_sha256.match(/.{1,4}/g) || []).map((g) => el("span", {}, g)));
        label.append(radio, el("span", { class: "report-project" }, p.code), code);
        return label;
      });
      if (rows.length && !rows.some((r) => r.querySelector("input").checked)) rows[0].querySelector("input").checked = true;
      reports.replaceChildren(...(rows.length ? rows : [el("p", { class: "muted" }, M["terminal.no_report"])]));
    };
    const refresh = async () => {
      if (busy) return;
      try {
        const r = await fetch("/api/checkin/terminal", { credentials: "same-origin" });
        if (r.ok) renderProjects(await r.json());
      } catch (e) { /* offline for a moment: keep what is shown */ }
    };

    const setMode = (next) => {
      mode = next;
      document.querySelectorAll(".kiosk-modes .mode").forEach((b) => {
        b.classList.toggle("current", b.dataset.mode === mode);
        b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
      });
      panel.hidden = mode !== "signoff";
      confirmBox.checked = false;
      input.focus();
    };
    document.querySelectorAll(".kiosk-modes .mode").forEach((b) => b.addEventListener("click", () => setMode(b.dataset.mode)));

    // The outcome stays a few seconds; the next expert may start at once (starting hides it).
    const finish = (kind, lines) => {
      show(kind, lines);
      busy = false;
      submit.disabled = false;
      stage.hidden = true;
      say("");
      confirmBox.checked = false;
      input.focus();
      refresh();
      clearTimeout(resetTimer);
      resetTimer = setTimeout(() => { outcome.hidden = true; input.focus(); }, RESET_AFTER_MS[kind]);
    };

    const openCamera = async () => {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error("absent"), { name: "NotFoundError" });
      return navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    };
    const frameReady = async () => {
      for (let i = 0; i < 100 && !(video.videoWidth > 0); i += 1) await sleep(50);
      if (!(video.videoWidth > 0)) throw Object.assign(new Error("no frames"), { name: "NotReadableError" });
    };
    const grab = (canvas, ctx) => {
      // Drawn unmirrored: the server judges the real left and right.
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    };
    const capture = async (challenge) => {
      const scale = Math.min(1, challenge.max_width / video.videoWidth);
      const canvas = el("canvas");
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      const ctx = canvas.getContext("2d");
      const count = Math.max(challenge.frames_min, challenge.frames_max);
      const frames = [];
      for (let i = 0; i < count; i += 1) {
        const started = performance.now();
        const blob = await grab(canvas, ctx);
        if (blob) frames.push(blob);
        await sleep(Math.max(0, challenge.frame_interval_ms - (performance.now() - started)));
      }
      canvas.width = 0; // release the last frame's pixels
      return frames;
    };

    const run = async (idNumber) => {
      const report = panel.querySelector("input[name=report]:checked");
      const purpose = mode;
      if (purpose === "signoff" && !report) { finish("fail", [M["terminal.no_report"]]); return; }
      if (purpose === "signoff" && !confirmBox.checked) { finish("fail", [M["terminal.confirm_required"]]); return; }
      const reportSha = report ? report.value : null;
      const reportProject = report ? report.getAttribute("data-project") : null;
      say(M["terminal.starting"]);
      const issued = await fetch("/api/checkin/challenges", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ id_number: idNumber, purpose }),
      });
      if (!issued.ok) { finish("fail", [failureText(await firstError(issued))]); return; }
      const challenge = await issued.json();
      let stream;
      try {
        stream = await openCamera();
      } catch (e) {
        const denied = e && (e.name === "NotAllowedError" || e.name === "SecurityError");
        finish("fail", [M[denied ? "terminal.camera.denied" : "terminal.camera.absent"]]);
        return;
      }
      let frames = [];
      try {
        stage.hidden = false;
        video.srcObject = stream;
        await video.play().catch(() => {});
        await frameReady();
        say(M["terminal.look"]);
        await sleep(LOOK_STRAIGHT_MS);
        say(M[`terminal.turn.${challenge.direction}`]);
        frames = await capture(challenge);
      } catch (e) {
        finish("fail", [M["terminal.camera.absent"]]);
        return;
      } finally {
        stream.getTracks().forEach((track) => track.stop());
        video.srcObject = null;
      }
      stage.hidden = true;
      say(M["terminal.sending"]);
      const data = new FormData();
      data.append("token", challenge.token);
      data.append("id_number", idNumber);
      if (purpose === "signoff") {
        data.append("report_sha256", reportSha);
        data.append("project_code", reportProject);
      }
      frames.forEach((blob, i) => data.append("frames", blob, `frame-${String(i).padStart(2, "0")}.jpg`));
      frames = []; // nothing of the face stays in the page once the request holds it
      const answer = await fetch(purpose === "signoff" ? "/api/checkin/signoffs" : "/api/checkin/attempts", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: data,
      });
      say("");
      if (!answer.ok) { finish("fail", [failureText(await firstError(answer))]); return; }
      const body = await answer.json();
      if (purpose === "signoff") {
        finish("ok", [fill(M[body.already ? "terminal.ok.signoff_already" : "terminal.ok.signoff"], body),
          body.report_sha256, M["terminal.next"]]);
      } else {
        finish("ok", [fill(M[body.already ? "terminal.ok.already" : "terminal.ok.checkin"], body), M["terminal.next"]]);
      }
    };

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (busy) return;
      const idNumber = input.value.trim();
      if (!idNumber) { input.focus(); say(M["terminal.id_required"]); return; }
      busy = true;
      submit.disabled = true;
      clearTimeout(resetTimer);
      outcome.hidden = true;
      input.value = ""; // the ID number is not left on the screen
      try {
        await run(idNumber);
      } catch (e) {
        finish("fail", [M["terminal.network"]]);
      }
    });
    setInterval(refresh, 30000);
  };

  // ---------------------------------------------------------------- the room page
  const roomPage = (root) => {
    const M = messagesFrom("room-messages");
    const code = root.dataset.room;
    const csrf = root.dataset.csrf;
    const note = document.getElementById("room-refresh");

    const table = (heads, rows, cls) => {
      const t = el("table", { class: cls });
      const tr = el("tr");
      heads.forEach((h) => tr.append(el("th", {}, h)));
      t.append(el("thead"));
      t.tHead.append(tr);
      const body = el("tbody");
      rows.forEach((cells) => {
        const row = el("tr");
        cells.forEach(([text, attrs]) => row.append(el("td", attrs || {}, String(text ?? ""))));
        body.append(row);
      });
      t.append(body);
      return t;
    };
    const render = (status) => {
      const box = document.getElementById("room-projects");
      const parts = (status.projects || []).map((p) => {
        const div = el("div", { class: "room-project", "data-project": p.code });
        const h = el("h2", {}, `${p.code} `);
        h.append(el("span", { class: `badge phase-${p.phase}` }, M[`terminal.phase.${p.phase}`] || p.phase));
        div.append(h, table([M["room.start"], M["room.seats"], M["room.checked_in"], M["room.signed_off"], M["room.report"]],
          [[[hm(p.start)], [p.seats, { "data-count": "seats" }], [p.checked_in, { "data-count": "checked_in" }],
            [p.signed_off, { "data-count": "signed_off" }], [p.report_sha256 || "—"]]], "room-counts"));
        if ((p.checkins || []).length) {
          div.append(table([M["room.expert"], M["room.at"], M["room.method"], M["room.by"], M["room.reason"]],
            p.checkins.map((c) => [[`${c.expert_code} ${c.expert_name || ""}`], [hms(c.at)],
              [M[`room.method.${c.method}`] || c.method], [c.by || ""], [c.reason || ""]]), "room-checkins"));
        } else {
          div.append(el("p", { class: "muted" }, M["room.sealed"]));
        }
        return div;
      });
      box.replaceChildren(...(parts.length ? parts : [el("p", { class: "muted" }, M["room.none"])]));
      const now = document.getElementById("room-now");
      if (now && status.now) now.textContent = localText(status.now, 0, 19);
    };
    const poll = async () => {
      try {
        const r = await fetch(`/api/checkin/rooms/${encodeURIComponent(code)}`, { credentials: "same-origin" });
        if (r.ok) { const status = await r.json(); render(status); note.textContent = fill(M["room.refreshed"], { at: hms(status.now) }); }
        else note.textContent = fill(M["room.refresh_failed"], { status: r.status });
      } catch (e) { note.textContent = M["terminal.network"]; }
    };
    setInterval(poll, 5000);

    const form = document.getElementById("manual-form");
    if (!form) return;
    const result = document.getElementById("manual-result");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = document.getElementById("manual-submit");
      const value = (name) => form.elements[name].value.trim() || null;
      button.disabled = true;
      try {
        const r = await fetch("/api/checkin/manual", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ room_code: code, id_number: value("id_number"), expert_code: value("expert_code"), reason: value("reason") || "" }),
        });
        result.hidden = false;
        if (r.ok) {
          const body = await r.json();
          result.className = "notice";
          result.textContent = fill(M[body.already ? "room.manual.already" : "room.manual.ok"], body);
          form.reset();
          poll();
        } else {
          const err = await firstError(r);
          result.className = "alert";
          result.textContent = M[err.type] || err.msg || `HTTP ${r.status}`;
        }
      } catch (e) {
        result.hidden = false;
        result.className = "alert";
        result.textContent = M["terminal.network"];
      } finally {
        button.disabled = false;
      }
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    const zone = document.querySelector("[data-utc-offset]");
    if (zone) utcOffsetHours = Number(zone.dataset.utcOffset) || 0;
    const k = document.getElementById("kiosk");
    if (k) kiosk(k);
    const r = document.getElementById("room-checkin");
    if (r) roomPage(r);
  });
})();
