// Kiosk screen: polls /kiosk/state about every 300 ms and shows the guidance and the last result.
// Everything shown comes from the state; the language switch only changes which text is picked.
// In 1:1 mode a keypad takes the employee number (then the PIN, when the site asks for one) and sends it
// to the running kiosk; what follows (punch, face mismatch, timeout) arrives with the state like any result.
"use strict";
(function () {
  const POLL_MS = 300;
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const body = document.body;
  let lang = body.dataset.lang === "en" ? "en" : "zh-CN";
  let last = null;
  let failures = 0;
  const el = (id) => document.getElementById(id);

  function text(messages) {
    if (!messages) return "";
    return messages[lang] || messages["en"] || "";
  }

  function fmt(key, values) {
    let s = strings[lang][key] || key;
    for (const k in values) s = s.split("{" + k + "}").join(String(values[k]));
    return s;
  }

  // --- 1:1 keypad -------------------------------------------------------------------------------------
  const keypad = el("keypad");
  const MAX_NUMBER = 16;
  const MAX_PIN = 8;
  let stage = "number"; // then "pin" when the site asks for one
  let number = "";
  let pin = "";
  let sending = false;
  let keypadMessage = null; // {"zh-CN": ..., "en": ...} of the last refused claim

  function resetEntry() {
    stage = "number";
    number = "";
    pin = "";
  }

  function renderKeypad() {
    const claim = last && last.claim;
    const pending = claim && claim.pending;
    const panel = el("claim-pending");
    if (panel) {
      panel.classList.toggle("hidden", !pending);
      if (pending) {
        el("claim-text").textContent = fmt("keypad.claimed", { number: pending.employee_no });
        el("claim-seconds").textContent = Math.ceil(pending.seconds_left) + " s";
      }
      const cancel = el("key-cancel");
      if (cancel) cancel.textContent = strings[lang]["keypad.cancel"];
    }
    if (!keypad) return;
    keypad.classList.toggle("hidden", !!pending);
    el("keypad-label").textContent = strings[lang][stage === "pin" ? "keypad.pin" : "keypad.number"];
    keypad.dataset.stage = stage;
    el("keypad-display").textContent = stage === "pin" ? "\u2022".repeat(pin.length) : number;
    el("key-ok").textContent = strings[lang]["keypad.ok"];
    el("key-back").setAttribute("aria-label", strings[lang]["keypad.back"]);
    const locked = claim ? claim.locked_seconds : 0;
    let message = sending ? strings[lang]["keypad.sending"] : text(keypadMessage);
    if (locked > 0) message = fmt("keypad.locked", { seconds: locked });
    el("keypad-message").textContent = message;
    keypad.querySelectorAll("button").forEach(function (b) { b.disabled = sending || locked > 0; });
  }

  async function post(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
      cache: "no-store",
    });
    const answer = await response.json();
    if (answer.detail !== undefined) return { ok: false, message: { "zh-CN": answer.detail, en: answer.detail } };
    return answer;
  }

  async function sendClaim() {
    sending = true;
    render();
    try {
      const answer = await post("/kiosk/claim", { employee_no: number, pin: stage === "pin" ? pin : null });
      if (answer.ok) {
        keypadMessage = null;
        resetEntry();
        if (last && last.claim) {
          last.claim.pending = { employee_no: answer.employee_no, seconds_left: answer.timeout_seconds };
        }
      } else if (answer.code === "pin-required") {
        stage = "pin";
        pin = "";
        keypadMessage = answer.message;
      } else {
        resetEntry();
        keypadMessage = answer.message;
      }
    } catch (e) {
      keypadMessage = { "zh-CN": strings["zh-CN"]["kiosk.offline"], en: strings["en"]["kiosk.offline"] };
    } finally {
      sending = false;
      render();
    }
  }

  function press(key) {
    keypadMessage = null;
    if (stage === "pin") {
      if (pin.length < MAX_PIN) pin += key;
    } else if (number.length < MAX_NUMBER) {
      number += key;
    }
    render();
  }

  function back() {
    if (stage === "pin" && pin === "") stage = "number";
    else if (stage === "pin") pin = pin.slice(0, -1);
    else number = number.slice(0, -1);
    render();
  }

  function ok() {
    if (sending || number === "") return;
    if (stage === "number" && body.dataset.pin === "on") {
      stage = "pin";
      keypadMessage = null;
      render();
      return;
    }
    if (stage === "pin" && pin === "") return;
    sendClaim();
  }

  if (keypad) {
    keypad.querySelectorAll("button.digit").forEach(function (b) {
      b.addEventListener("click", function () { press(b.dataset.key); });
    });
    el("key-back").addEventListener("click", back);
    el("key-ok").addEventListener("click", ok);
  }
  if (el("key-cancel")) {
    el("key-cancel").addEventListener("click", async function () {
      try { await post("/kiosk/claim/cancel", {}); } catch (e) { /* the next poll shows the state */ }
      if (last && last.claim) last.claim.pending = null;
      render();
    });
  }

  function render() {
    document.documentElement.lang = lang;
    el("lang").textContent = strings[lang]["lang.switch"];
    renderKeypad();
    const notice = el("notice");
    if (last === null) {
      notice.textContent = failures > 3 ? strings[lang]["kiosk.offline"] : "";
      notice.classList.toggle("hidden", failures <= 3);
      return;
    }
    const running = last.status === "running";
    notice.textContent = running ? "" : strings[lang]["kiosk.out-of-order"];
    notice.classList.toggle("hidden", running);
    el("guidance").textContent = running ? text(last.guidance_message) : "";
    const banner = el("banner");
    const b = last.banner;
    if (!b) {
      banner.className = "banner hidden";
      return;
    }
    banner.className = "banner " + b.tone;
    banner.dataset.kind = b.kind;
    banner.dataset.seq = String(b.seq);
    el("banner-name").textContent = b.name || "";
    el("banner-direction").textContent = b.direction_label ? text(b.direction_label) : "";
    el("banner-time").textContent = b.time || "";
    el("banner-message").textContent = text(b.message);
    // Hours this week (after a punch): computed on this terminal; HR's timesheet is authoritative.
    el("banner-week").textContent = b.week_hours ? text(b.week_hours) : "";
  }

  function tick() {
    const now = new Date();
    // The site's time zone (the punch card's), not the kiosk browser's.
    const options = { hour12: false };
    if (body.dataset.tz) options.timeZone = body.dataset.tz;
    try {
      el("clock").textContent = now.toLocaleTimeString(lang, options);
    } catch (e) {
      el("clock").textContent = now.toLocaleTimeString(lang, { hour12: false });
    }
  }

  async function poll() {
    try {
      const response = await fetch("/kiosk/state", { cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      last = await response.json();
      failures = 0;
    } catch (e) {
      failures += 1;
      if (failures > 3) last = null;
    }
    render();
    if (body.dataset.preview === "on") {
      const img = el("preview");
      if (img) img.src = "/kiosk/preview.jpg?t=" + Date.now();
    }
    setTimeout(poll, POLL_MS);
  }

  el("lang").addEventListener("click", function () {
    lang = lang === "zh-CN" ? "en" : "zh-CN";
    body.dataset.lang = lang;
    render();
    tick();
  });
  setInterval(tick, 1000);
  tick();
  poll();
})();
