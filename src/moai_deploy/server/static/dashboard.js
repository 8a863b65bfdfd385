// moai-deploy dashboard: plain DOM, no framework. Data from /api/v1, live updates from the
// event stream (ledger events and live samples). Text is always set with textContent.
"use strict";
const state = { csrf: null, me: null, envs: [], series: {}, chartEnv: null, release: null, pinned: false, timer: null };
const $ = (id) => document.getElementById(id);
const COLORS = ["#3b7ddd", "#e8710a", "#137333", "#a142f4", "#b00020", "#12858a"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

async function api(path, options = {}) {
  const opts = { credentials: "same-origin", headers: {}, ...options };
  if (opts.method && opts.method !== "GET") {
    opts.headers["Content-Type"] = "application/json";
    if (state.csrf) opts.headers["X-CSRF-Token"] = state.csrf;
  }
  const response = await fetch(path, opts);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error || body.detail || response.statusText), { status: response.status });
  return body;
}

function say(text, bad) { const m = $("message"); m.textContent = text; m.className = bad ? "error" : "ok"; }

async function init() {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { start(await api("/login", { method: "POST", body: JSON.stringify({ token: $("token").value }) })); }
    catch (err) { $("login-error").textContent = err.message; }
  });
  $("dora-days").addEventListener("change", loadDora);
  try { start(await api("/session")); } catch (_) { $("login").hidden = false; }
}

function start(session) {
  state.csrf = session.csrf; state.me = session;
  $("login").hidden = true; $("app").hidden = false;
  $("who").replaceChildren(`${session.name} (${session.role}${session.environment ? " @ " + session.environment : ""}) `,
    el("button", { onclick: async () => { await api("/logout", { method: "POST" }); location.reload(); } }, "log out"));
  refresh();
  const stream = new EventSource("/api/v1/events?samples=true");
  stream.onmessage = () => scheduleRefresh();
  stream.addEventListener("sample", (e) => onSample(JSON.parse(e.data)));
}

function scheduleRefresh() { clearTimeout(state.timer); state.timer = setTimeout(refresh, 150); }

async function refresh() {
  try {
    const [envs, approvals, history, audit] = await Promise.all([
      api("/api/v1/environments"), api("/api/v1/approvals"), api("/api/v1/releases?limit=20"), api("/api/v1/audit?limit=20")]);
    state.envs = envs;
    renderEnvironments(envs); renderApprovals(approvals); renderHistory(history); renderAudit(audit);
    if (!state.pinned && history.length) state.release = history[0].id; // follow the newest
    if (state.release) loadTimeline(state.release);
    loadDora();
  } catch (err) { say(err.message, true); }
}

function renderEnvironments(envs) {
  $("environments").replaceChildren(...envs.map((env) => {
    const live = env.live ? `${env.live.version} (#${env.live.id})` : "nothing live";
    const unfinished = env.unfinished.length ? `in progress: ${env.unfinished[0].version} — ${env.stopped_at || ""}` : "";
    return el("div", { class: "card", id: `env-${env.environment}` },
      el("h3", {}, env.environment, el("span", { class: "muted" }, ` ${env.strategy} · ${env.url}`)),
      el("div", {}, "live: ", el("strong", { class: "live-version" }, live)),
      el("div", { class: "muted" }, unfinished),
      el("div", { class: "weights" }, ...weightRows(Object.entries(env.weights).map(([b, w]) => [b, w]))));
  }));
}

function weightRows(pairs) {
  return pairs.map(([name, weight]) => el("div", { class: "weight", "data-weight": weight },
    `${name}: ${weight}%`, el("div", { class: "bar" }, el("span", { style: `width:${weight}%` }))));
}

function renderApprovals(items) {
  if (!items.length) { $("approvals").replaceChildren(el("p", { class: "muted" }, "none")); return; }
  $("approvals").replaceChildren(...items.map((item) => el("div", { class: "card approval" },
    el("h3", {}, `${item.environment}: ${item.release.version} (#${item.release.id})`),
    el("div", {}, `deployed by ${item.release.deployed_by}; approvals ${item.tally.approvers.length}/${item.tally.required}`,
      item.tally.approvers.length ? ` (${item.tally.approvers.join(", ")})` : ""),
    el("button", { class: "approve", onclick: () => decide(item.environment, "approve") }, "Approve"),
    el("button", { class: "reject", onclick: () => decide(item.environment, "reject") }, "Reject"))));
}

async function decide(environment, decision) {
  const body = decision === "approve" ? { comment: "from the dashboard" } : { reason: prompt("Why reject?") || "rejected from the dashboard" };
  try {
    await api(`/api/v1/environments/${encodeURIComponent(environment)}/${decision}`, { method: "POST", body: JSON.stringify(body) });
    say(`${decision} recorded for ${environment}`);
  } catch (err) { say(`${decision} refused: ${err.message}`, true); }
  scheduleRefresh();
}

function renderHistory(releases) {
  $("history").tBodies[0].replaceChildren(...releases.map((r) => el("tr", { class: "clickable", onclick: () => { state.release = r.id; state.pinned = true; loadTimeline(r.id); } },
    el("td", {}, r.id), el("td", {}, r.environment), el("td", {}, r.version), el("td", {}, r.strategy),
    el("td", { class: r.status === "succeeded" ? "ok" : (["failed", "aborted"].includes(r.status) ? "bad" : "") }, r.status),
    el("td", {}, r.deployed_by), el("td", {}, r.created_at.replace("T", " ").slice(0, 19)))));
}

function renderAudit(events) {
  $("audit").tBodies[0].replaceChildren(...events.map((e) => el("tr", {},
    el("td", {}, e.at.replace("T", " ").slice(0, 19)), el("td", {}, e.actor), el("td", {}, e.action), el("td", {}, e.target), el("td", {}, e.outcome))));
}

async function loadTimeline(id) {
  try {
    const r = await api(`/api/v1/releases/${id}`);
    $("timeline-title").textContent = `#${r.id} ${r.version} → ${r.environment}: ${r.status}`;
    $("timeline").replaceChildren(...r.steps.map((s) => el("li", { class: s.outcome },
      `${s.started_at.slice(11, 19)} ${s.kind} — ${s.outcome}${s.detail ? ": " + s.detail : ""}`)));
  } catch (err) { say(err.message, true); }
}

async function loadDora() {
  try {
    const d = await api(`/api/v1/dora?days=${$("dora-days").value}`);
    const fmt = { deploy_frequency_per_week: (v) => `${v.toFixed(1)}/week`, lead_time_seconds: duration, change_failure_rate: (v) => `${(v * 100).toFixed(1)} %`, time_to_restore_seconds: duration };
    $("dora").tBodies[0].replaceChildren(...Object.entries(d.metrics).map(([name, m]) => el("tr", { id: `dora-${name}` },
      el("td", {}, `${name} (${d.environment})`), el("td", {}, m.value === null ? "—" : fmt[name](m.value)),
      el("td", {}, `${m.direction === "above" ? ">" : "<"} ${fmt[name](m.target)}`),
      el("td", { class: m.met ? "ok" : "bad" }, m.met === null ? "no data" : (m.met ? "yes" : "no")))));
  } catch (err) { say(err.message, true); }
}

function duration(seconds) { return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`; }

function onSample(sample) {
  const envs = sample.environments || {};
  const busy = state.envs.find((e) => e.unfinished.length) || state.envs.find((e) => (envs[e.environment] || []).length);
  if (busy) state.chartEnv = busy.environment;
  for (const [env, backends] of Object.entries(envs)) {
    const card = document.querySelector(`#env-${CSS.escape(env)} .weights`);
    if (card) card.replaceChildren(...weightRows(backends.map((b) => [b.version, b.weight])));
  }
  const backends = envs[state.chartEnv] || [];
  $("chart-env").textContent = state.chartEnv ? `(${state.chartEnv})` : "";
  for (const b of backends) {
    if (!b.traffic) continue;
    const key = `${state.chartEnv}/${b.version}`;
    const points = (state.series[key] = state.series[key] || []);
    points.push([sample.at, b.traffic.success_rate, b.traffic.p95_ms]);
    if (points.length > 600) points.shift();
  }
  draw("chart-success", "legend-success", 1, (v) => v === null ? "—" : `${(v * 100).toFixed(1)} %`);
  draw("chart-latency", "legend-latency", 2, (v) => v === null ? "—" : `${v} ms`);
}

function draw(canvasId, legendId, index, label) {
  const canvas = $(canvasId), ctx = canvas.getContext("2d");
  const keys = Object.keys(state.series).filter((k) => k.startsWith(`${state.chartEnv}/`));
  const all = keys.flatMap((k) => state.series[k]);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.points = String(all.length);
  if (!all.length) return;
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const values = all.map((p) => p[index]).filter((v) => v !== null);
  const top = index === 1 ? 1 : Math.max(10, ...values) * 1.1, bottom = index === 1 ? Math.min(0.9, ...values) : 0;
  const legend = [];
  keys.forEach((key, i) => {
    ctx.strokeStyle = COLORS[i % COLORS.length]; ctx.lineWidth = 2; ctx.beginPath();
    let started = false;
    for (const p of state.series[key]) {
      if (p[index] === null) continue;
      const x = 4 + (canvas.width - 8) * (p[0] - t0) / (t1 - t0);
      const y = canvas.height - 4 - (canvas.height - 8) * (p[index] - bottom) / ((top - bottom) || 1);
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    }
    ctx.stroke();
    const last = state.series[key][state.series[key].length - 1];
    legend.push(el("span", { style: `color:${COLORS[i % COLORS.length]}`, "data-version": key.split("/")[1] }, `${key.split("/")[1]}: ${label(last[index])}`));
  });
  $(legendId).replaceChildren(...legend);
}

document.addEventListener("DOMContentLoaded", init);
