// Kiosk screen: polls /kiosk/state about every 300 ms and shows the guidance and the last result.
// Everything shown comes from the state; the language switch only changes which text is picked.
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

  function render() {
    document.documentElement.lang = lang;
    el("lang").textContent = strings[lang]["lang.switch"];
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
  }

  function tick() {
    const now = new Date();
    el("clock").textContent = now.toLocaleTimeString(lang, { hour12: false });
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
