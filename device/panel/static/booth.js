// Booth screen: polls /booth/state and shows the phase; every step is a JSON POST to /booth/<step>.
"use strict";
const STRINGS = JSON.parse(document.getElementById("strings").textContent);
const DAYS = JSON.parse(document.getElementById("retention-days").textContent);
let lang = document.body.dataset.lang;
let state = null;
let typing = false;
let submitting = false;

const $ = (id) => document.getElementById(id);
function t(key, values) {
  let text = (STRINGS[lang] || {})[key] || key;
  for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(String(v));
  return text;
}
function show(id, on) { $(id).classList.toggle("hidden", !on); }

function translate() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = t("lang.switch");
  $("retention").textContent = t("booth.notice.retention", { days: DAYS });
}

async function step(name, body) {
  $("error").classList.add("hidden");
  const response = await fetch("/booth/" + name, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = answer.message ? answer.message[lang] : t("booth.error.error");
    $("error").textContent = message;
    $("error").classList.remove("hidden");
  } else if (answer.state) {
    render(answer.state);
  }
  return response.ok;
}

function renderQuestion(s) {
  const q = s.question || {};
  $("question-number").textContent = t("booth.question", { number: q.number, count: q.count });
  $("question-text").textContent = q.text || "";
  const sub = s.sub;
  const status = { prepare: "booth.prepare", recording: "booth.recording" }[sub];
  $("question-status").textContent = status ? t(status) : "";
  const answer = s.answer || {};
  const heard = (sub === "recording" || sub === "review") && answer.text;
  show("transcript-box", Boolean(heard));
  $("transcript").textContent = answer.text || "";
  const warning = (answer.warnings || []).map((w) => t("booth.warning." + w)).join(" ");
  show("warning", sub === "review" && Boolean(warning));
  $("warning").textContent = warning;
  if (sub === "refused" && answer.error) {
    $("error").textContent = t("booth.error." + answer.error);
    $("error").classList.remove("hidden");
  }
  show("start", sub === "prepare" || sub === "refused");
  $("start").textContent = t(sub === "refused" ? "booth.retry" : "booth.start");
  show("stop", sub === "recording");
  show("retake", sub === "review" && s.retakes_left > 0);
  $("retake").textContent = t("booth.retake", { count: s.retakes_left });
  show("type", sub === "prepare" || sub === "refused" || sub === "review");
  show("typed-text", sub === "typing");
  show("typed-submit", sub === "typing");
  show("next", sub === "review" || sub === "refused");
  show("end", sub !== "recording" && sub !== "typing");
  if (sub === "typing" && !typing) { $("typed-text").value = ""; $("typed-text").focus(); }
  typing = sub === "typing";
  // The answer time is up: a typed answer is submitted as it stands (the countdown was visible).
  if (typing && s.remaining === 0 && !submitting) { submitting = true; step("typed", { text: $("typed-text").value }).finally(() => { submitting = false; }); }
}

function render(s) {
  const changed = !state || state.phase !== s.phase || state.sub !== s.sub;
  state = s;
  document.querySelectorAll(".phase").forEach((el) => el.classList.add("hidden"));
  show("phase-" + s.phase, true);
  if (changed && s.sub !== "refused") $("error").classList.add("hidden");
  $("countdown").textContent = s.remaining == null ? "" : t("booth.remaining", { seconds: Math.ceil(s.remaining) });
  show("walkin-open", s.phase === "welcome" && s.walk_in);
  if (s.phase === "notice") {
    $("hello").textContent = t("booth.hello", { name: s.candidate || "" });
    show("identity", s.identity_check);
    $("identity").textContent = t(s.identity_photo ? "booth.identity.planned" : "booth.identity.skipped");
  }
  if (s.phase === "resume") {
    const q = s.question || {};
    $("resume-title").textContent = t("booth.resume.title", { number: q.number, count: q.count });
  }
  if (s.phase === "question") renderQuestion(s);
  if (s.phase === "done") $("reference").textContent = t("booth.done.reference", { reference: s.reference || "" });
  if (s.phase === "welcome" && changed) $("code").value = "";
  if (s.phase === "demographics" && changed) document.querySelectorAll(".demo-q .choice").forEach((b) => b.classList.remove("chosen"));
}

async function poll() {
  try {
    const response = await fetch("/booth/state", { cache: "no-store" });
    if (response.ok) render(await response.json());
  } catch (e) { /* the device restarts: keep polling */ }
  setTimeout(poll, 300);
}

$("lang").addEventListener("click", () => { lang = lang === "en" ? "zh-CN" : "en"; translate(); if (state) render(state); });
$("checkin").addEventListener("click", () => step("checkin", { code: $("code").value }));
$("code").addEventListener("keydown", (e) => { if (e.key === "Enter") step("checkin", { code: $("code").value }); });
$("walkin-open").addEventListener("click", () => show("walkin-form", true));
$("walkin").addEventListener("click", () => step("walkin", { name: $("walkin-name").value }));
$("consent").addEventListener("click", () => step("consent", { lang }));
$("decline").addEventListener("click", () => step("decline"));
$("resume").addEventListener("click", () => step("resume"));
$("end-resume").addEventListener("click", () => step("end"));
$("start").addEventListener("click", () => step("start"));
$("retake").addEventListener("click", () => step("start"));
$("stop").addEventListener("click", () => step("stop"));
$("type").addEventListener("click", () => step("type"));
$("typed-submit").addEventListener("click", () => step("typed", { text: $("typed-text").value }));
$("next").addEventListener("click", () => step("next"));
// The self-report: one choice per question (tap again to clear it); nothing chosen = skipped.
document.querySelectorAll(".demo-q .choice").forEach((button) => button.addEventListener("click", () => {
  const on = !button.classList.contains("chosen");
  button.parentElement.querySelectorAll(".choice").forEach((b) => b.classList.remove("chosen"));
  button.classList.toggle("chosen", on);
}));
function demoAnswers() {
  const answers = {};
  document.querySelectorAll(".demo-q .choice.chosen").forEach((b) => { answers[b.parentElement.dataset.dimension] = b.dataset.value; });
  return answers;
}
$("demo-submit").addEventListener("click", () => step("demographics", { answers: demoAnswers() }));
$("demo-skip").addEventListener("click", () => step("demographics", { answers: {} }));
$("end").addEventListener("click", () => step("end"));
translate();
poll();
