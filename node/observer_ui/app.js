// wippyd observer: a page of the admin endpoint. Plain JS, no build step,
// no network but this node's /v1 endpoints. Every view polls at most one
// request a second; what the page shows of another node, this node asks
// that node over the cluster mesh.
"use strict";

const POLL_MS = 1000;
const TOKEN_KEY = "wippyd-admin-token";
let info = { node: "", actions: false };
let gen = 0; // bumped on each route change: stale polls stop

// ---- DOM helpers (text only: nothing from the server becomes HTML) ----

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
function fill(el, ...kids) { el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined)); }
const enc = encodeURIComponent;
function fmtRate(v) { return v >= 100 ? v.toFixed(0) : v.toFixed(1); }
function fmtAge(s) {
  if (s < 60) return s.toFixed(0) + "s";
  if (s < 3600) return (s / 60).toFixed(0) + "m";
  if (s < 86400) return (s / 3600).toFixed(1) + "h";
  return (s / 86400).toFixed(1) + "d";
}
function stateSpan(s) { return h("span", { class: "state-" + s }, s); }
function nodeOfPid(pid) { const m = /^\{([^@|{}]*)@/.exec(pid); return m ? m[1] : ""; }
function pidLink(pid) {
  const node = nodeOfPid(pid);
  return h("a", { class: "pid pid-link", href: "#/n/" + enc(node) + "/p/" + enc(pid) }, pid);
}

// ---- the API ----

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, opts) {
  const o = Object.assign({ headers: {} }, opts || {});
  const t = token();
  if (t) o.headers["Authorization"] = "Bearer " + t;
  let res;
  try {
    res = await fetch(path, o);
  } catch (e) {
    return { status: 0, body: { error: "the node does not answer: " + e.message } };
  }
  let body = {};
  const text = await res.text();
  try { body = JSON.parse(text); } catch (e) { body = { error: text.trim() }; }
  if (res.status === 401) setStatus("this node needs the admin token: enter it above", true);
  return { status: res.status, body };
}

function setStatus(msg, bad) {
  const s = $("#status");
  s.textContent = msg;
  s.className = bad ? "err" : "muted";
}

function canAct() { return info.actions && token() !== ""; }

function showMode() {
  const m = $("#mode");
  if (!info.actions) { m.textContent = "read-only (no admin.token on this node)"; m.className = "badge"; }
  else if (!token()) { m.textContent = "read-only (enter the token to act)"; m.className = "badge"; }
  else { m.textContent = "actions enabled"; m.className = "badge rw"; }
}

// ---- polling ----

// poll calls f now and then every POLL_MS after each call ends, until the
// route changes.
function poll(f) {
  const mine = gen;
  const tick = async () => {
    if (mine !== gen) return;
    await f();
    if (mine === gen) setTimeout(tick, POLL_MS);
  };
  tick();
}

// ---- views ----

function navFor(node, on) {
  const nav = $("#nav");
  if (!node) { fill(nav, h("a", { href: "#/", class: on === "cluster" ? "on" : "" }, "cluster")); return; }
  const b = "#/n/" + enc(node);
  const a = (href, label, key) => h("a", { href, class: on === key ? "on" : "" }, label);
  fill(nav, a("#/", "cluster", "cluster"), a(b, "node " + node, "node"),
    a(b + "/processes", "processes", "processes"), a(b + "/names", "names", "names"),
    a(b + "/groups", "groups", "groups"));
}

function clusterView() {
  navFor("", "cluster");
  const view = $("#view");
  const leader = h("span", { id: "leader", class: "leader" });
  const body = h("tbody", { id: "nodes" });
  fill(view, h("h1", {}, "Cluster"),
    h("p", {}, "Raft leader: ", leader),
    h("div", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, ["node", "state", "raft role", "failure domain", "address", "processes", "msgs/s", "spawns/s", "uptime"]
        .map((c, i) => h("th", { class: i >= 5 ? "num" : "" }, c)))), body)));
  poll(async () => {
    const r = await api("/v1/cluster");
    if (r.status !== 200) { setStatus(r.body.error || "HTTP " + r.status, true); return; }
    setStatus("updated " + new Date().toLocaleTimeString());
    leader.textContent = r.body.leader || "none known";
    fill(body, r.body.nodes.map((n) => {
      const b = n.brief;
      return h("tr", { "data-node": n.name, class: "node-row" },
        h("td", {}, h("a", { href: "#/n/" + enc(n.name) }, n.name), n.local ? h("span", { class: "muted" }, " (this node)") : null,
          n.leader ? h("span", { class: "leader", title: "Raft leader" }, " ★ leader") : null),
        h("td", {}, stateSpan(n.state)),
        h("td", {}, b ? b.raft_role || "—" : "—"),
        h("td", {}, b ? b.failure_domain || "—" : "—"),
        h("td", {}, h("code", {}, n.addr || "")),
        h("td", { class: "num" }, b ? b.processes : h("span", { class: "err" }, n.error || "?")),
        h("td", { class: "num" }, b ? fmtRate(b.rates.msgs_per_s) : ""),
        h("td", { class: "num" }, b ? fmtRate(b.rates.spawns_per_s) : ""),
        h("td", { class: "num" }, b ? fmtAge(b.uptime_s) : ""));
    }));
  });
}

function chart(title, points, key) {
  const W = 300, H = 90, P = 4;
  const vals = points.map((p) => p[key]);
  const max = Math.max(1, ...vals);
  const n = Math.max(1, points.length - 1);
  const line = vals.map((v, i) => `${(P + (i / n) * (W - 2 * P)).toFixed(1)},${(H - P - (v / max) * (H - 2 * P - 10)).toFixed(1)}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const pl = document.createElementNS(ns, "polyline");
  pl.setAttribute("points", line);
  svg.append(pl);
  const now = vals.length ? vals[vals.length - 1] : 0;
  return h("div", {}, h("h2", {}, title), h("div", { class: "muted" }, `now ${fmtRate(now)}/s, peak ${fmtRate(Math.max(0, ...vals))}/s over ${points.length} samples`), svg);
}

function nodeView(node) {
  navFor(node, "node");
  const view = $("#view");
  const summary = h("div", { class: "card", id: "node-summary" });
  const charts = h("div", { class: "cards" });
  const hosts = h("tbody", { id: "hosts" });
  const services = h("tbody", { id: "services" });
  fill(view, h("h1", {}, "Node " + node), summary, charts,
    h("h2", {}, "Hosts"), h("div", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "host"), h("th", { class: "num" }, "processes"),
        ["ready", "running", "blocked", "idle"].map((s) => h("th", { class: "num" }, s)), h("th", { class: "num" }, "spawns"))), hosts)),
    h("h2", {}, "Services"), h("div", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, ["service", "state", "pid", "restarts", "last error", ""].map((c) => h("th", {}, c)))), services)));
  poll(async () => {
    const r = await api("/v1/nodes/" + enc(node));
    if (r.status !== 200) { setStatus(r.body.error || "HTTP " + r.status, true); return; }
    setStatus("updated " + new Date().toLocaleTimeString());
    const s = r.body;
    fill(summary, h("dl", { class: "kv" },
      h("dt", {}, "version"), h("dd", {}, s.version),
      h("dt", {}, "uptime"), h("dd", {}, fmtAge(s.uptime_s)),
      h("dt", {}, "ready"), h("dd", {}, String(s.ready)),
      h("dt", {}, "raft role"), h("dd", {}, s.raft_role || "—", s.raft ? " (leader " + (s.raft.leader || "unknown") + ", commit " + s.raft.commit_index + ")" : ""),
      h("dt", {}, "failure domain"), h("dd", {}, s.failure_domain || "—"),
      h("dt", {}, "processes"), h("dd", { id: "node-processes" }, s.processes),
      h("dt", {}, "messages"), h("dd", {}, `sent ${s.messages.sent_local} local, ${s.messages.sent_remote} remote; received ${s.messages.received_local} local, ${s.messages.received_remote} remote`),
      h("dt", {}, "names"), h("dd", {}, Object.entries(s.names).map(([k, v]) => k + " " + v).join(", "))));
    fill(charts, h("div", { class: "card" }, chart("Messages delivered per second (last minutes)", s.history, "msgs_per_s")),
      h("div", { class: "card" }, chart("Spawns per second (last minutes)", s.history, "spawns_per_s")));
    fill(hosts, (s.hosts || []).map((x) => h("tr", {},
      h("td", {}, h("a", { href: "#/n/" + enc(node) + "/processes?host=" + enc(x.id) }, x.id)),
      h("td", { class: "num" }, x.processes),
      ["ready", "running", "blocked", "idle"].map((st) => h("td", { class: "num" }, x.by_state[st] || 0)),
      h("td", { class: "num" }, x.spawns))));
    fill(services, s.services.length ? s.services.map((v) => h("tr", {},
      h("td", {}, v.id), h("td", {}, stateSpan(v.state)),
      h("td", {}, v.pid ? pidLink(v.pid) : "—"), h("td", { class: "num" }, v.restarts),
      h("td", { class: "err" }, v.last_error || ""),
      h("td", {}, h("button", { disabled: !canAct(), onclick: () => act("/v1/nodes/" + enc(node) + "/services/" + enc(v.id) + "/restart", "restart " + v.id) }, "restart"))))
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "no services")));
  });
}

async function act(path, what) {
  if (!canAct()) { setStatus("actions need the admin token", true); return null; }
  const r = await api(path, { method: "POST" });
  const out = $("#action-result");
  const msg = r.status === 202 ? what + ": done" : what + ": " + (r.body.error || "HTTP " + r.status);
  if (out) { out.textContent = msg; out.className = r.status === 202 ? "" : "err"; }
  setStatus(msg, r.status !== 202);
  return r;
}

function processesView(node, params) {
  navFor(node, "processes");
  const view = $("#view");
  const f = {};
  const field = (key, label, el) => { f[key] = el; el.id = "f-" + key; el.value = params.get(key) || ""; return h("label", {}, label, el); };
  const stateSel = h("select", {}, ["", "ready", "running", "blocked", "idle"].map((s) => h("option", { value: s }, s || "any")));
  const hostSel = h("select", {}, h("option", { value: "" }, "any"));
  const entryList = h("datalist", { id: "entries" });
  const form = h("form", { class: "filters", id: "filters" },
    field("name", "name", h("input", { placeholder: "part of a name" })),
    field("entry", "entry", h("input", { placeholder: "part of an entry id", list: "entries" })),
    field("host", "host", hostSel), field("state", "state", stateSel),
    h("button", { id: "f-apply", type: "submit" }, "filter"), entryList);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries(f)) if (el.value) q.set(k, el.value);
    location.hash = "#/n/" + enc(node) + "/processes" + (q.toString() ? "?" + q : "");
  });
  const body = h("tbody", { id: "procs" });
  const pager = h("div", { class: "pager", id: "pager" });
  fill(view, h("h1", {}, "Processes on " + node), form,
    h("div", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, ["pid", "names", "entry", "host", "state", "mailbox", "in", "out", "age"]
        .map((c, i) => h("th", { class: i >= 5 ? "num" : "" }, c)))), body), pager));
  // Hosts and entries for the filters, once.
  api("/v1/nodes/" + enc(node)).then((r) => {
    if (r.status !== 200) return;
    for (const x of r.body.hosts || []) hostSel.append(h("option", { value: x.id }, x.id));
    hostSel.value = params.get("host") || "";
    for (const e of r.body.entries || []) entryList.append(h("option", { value: e }));
  });
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  poll(async () => {
    const q = new URLSearchParams();
    for (const k of ["name", "entry", "host", "state"]) if (params.get(k)) q.set(k, params.get(k));
    q.set("page", page);
    q.set("per_page", "50");
    const r = await api("/v1/nodes/" + enc(node) + "/processes?" + q);
    if (r.status !== 200) { setStatus(r.body.error || "HTTP " + r.status, true); return; }
    setStatus("updated " + new Date().toLocaleTimeString());
    const p = r.body;
    fill(body, p.processes.length ? p.processes.map((x) => h("tr", { class: "proc", "data-pid": x.pid },
      h("td", {}, pidLink(x.pid)), h("td", {}, x.names.join(", ")), h("td", {}, x.entry || "—"),
      h("td", {}, x.host), h("td", {}, stateSpan(x.state)), h("td", { class: "num" }, x.mailbox),
      h("td", { class: "num" }, x.messages_in), h("td", { class: "num" }, x.messages_out),
      h("td", { class: "num" }, fmtAge(x.age_s))))
      : h("tr", {}, h("td", { colspan: 9, class: "muted" }, "no process matches")));
    const go = (n) => { const q2 = new URLSearchParams(params); q2.set("page", n); location.hash = "#/n/" + enc(node) + "/processes?" + q2; };
    fill(pager, h("button", { disabled: page <= 1, onclick: () => go(page - 1) }, "‹ previous"),
      h("span", { id: "page-info" }, `page ${p.page} of ${Math.max(1, p.pages)} · ${p.total} processes`),
      h("button", { disabled: page >= p.pages, onclick: () => go(page + 1) }, "next ›"));
  });
}

function processView(node, pid) {
  navFor(node, "processes");
  const view = $("#view");
  const details = h("div", { class: "card", id: "process" });
  const result = h("div", { id: "action-result" });
  const buttons = h("div", { class: "actions" },
    h("button", { id: "btn-cancel", class: "danger", disabled: !canAct(), onclick: () => act("/v1/nodes/" + enc(node) + "/processes/" + enc(pid) + "/cancel", "cancel") }, "cancel"), " ",
    h("button", { id: "btn-terminate", class: "danger", disabled: !canAct(), onclick: () => act("/v1/nodes/" + enc(node) + "/processes/" + enc(pid) + "/terminate", "terminate") }, "terminate"),
    canAct() ? null : h("span", { class: "muted" }, " (actions need the admin token)"));
  fill(view, h("h1", {}, "Process ", h("span", { class: "pid" }, pid)), buttons, result, details);
  const list = (xs) => xs.length ? h("div", {}, xs.map((x) => h("div", {}, pidLink(x)))) : h("span", { class: "muted" }, "none");
  poll(async () => {
    const r = await api("/v1/nodes/" + enc(node) + "/processes/" + enc(pid));
    if (r.status === 404) {
      fill(details, h("div", { class: "gone", id: "p-gone" }, "This process is gone: " + (r.body.error || "not found")));
      for (const b of buttons.querySelectorAll("button")) b.disabled = true;
      setStatus("updated " + new Date().toLocaleTimeString());
      return;
    }
    if (r.status !== 200) { setStatus(r.body.error || "HTTP " + r.status, true); return; }
    setStatus("updated " + new Date().toLocaleTimeString());
    const p = r.body;
    fill(details, h("dl", { class: "kv" },
      h("dt", {}, "node"), h("dd", {}, p.node),
      h("dt", {}, "host"), h("dd", {}, p.host),
      h("dt", {}, "entry"), h("dd", {}, p.entry || "—"),
      h("dt", {}, "actor"), h("dd", {}, p.actor || "—"),
      h("dt", {}, "state"), h("dd", { id: "p-state" }, stateSpan(p.state)),
      h("dt", {}, "names"), h("dd", { id: "p-names" }, p.names.length ? p.names.join(", ") : "none"),
      h("dt", {}, "mailbox depth"), h("dd", { id: "p-mailbox" }, p.mailbox),
      h("dt", {}, "messages in / out"), h("dd", {}, p.messages_in + " / " + p.messages_out),
      h("dt", {}, "age"), h("dd", {}, fmtAge(p.age_s) + " (since " + new Date(p.started).toLocaleString() + ")"),
      h("dt", {}, "links"), h("dd", {}, list(p.links)),
      h("dt", {}, "monitors"), h("dd", {}, list(p.monitors)),
      h("dt", {}, "monitored by"), h("dd", {}, list(p.monitored_by)),
      h("dt", {}, "listens to"), h("dd", { id: "p-topics" }, p.topics.length ? p.topics.join(", ") : "none"),
      h("dt", {}, "traps links"), h("dd", {}, String(p.trap_links))));
  });
}

function namesView(node, params) {
  navFor(node, "names");
  const view = $("#view");
  const nameIn = h("input", { id: "n-name", placeholder: "part of a name" });
  nameIn.value = params.get("name") || "";
  const scopeSel = h("select", { id: "n-scope" }, ["", "local", "eventual", "consistent", "strong"].map((s) => h("option", { value: s }, s || "every scope")));
  scopeSel.value = params.get("scope") || "";
  const form = h("form", { class: "filters" }, h("label", {}, "name", nameIn), h("label", {}, "scope", scopeSel),
    h("button", { type: "submit" }, "filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (nameIn.value) q.set("name", nameIn.value);
    if (scopeSel.value) q.set("scope", scopeSel.value);
    location.hash = "#/n/" + enc(node) + "/names" + (q.toString() ? "?" + q : "");
  });
  const box = h("div", { id: "names" });
  fill(view, h("h1", {}, "Names on " + node), form, box);
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  poll(async () => {
    const q = new URLSearchParams();
    for (const k of ["name", "scope"]) if (params.get(k)) q.set(k, params.get(k));
    q.set("page", page);
    q.set("per_page", "100");
    const r = await api("/v1/nodes/" + enc(node) + "/names?" + q);
    if (r.status !== 200) { setStatus(r.body.error || "HTTP " + r.status, true); return; }
    setStatus("updated " + new Date().toLocaleTimeString());
    const go = (s, n) => { const q2 = new URLSearchParams(params); q2.set("scope", s); q2.set("page", n); location.hash = "#/n/" + enc(node) + "/names?" + q2; };
    fill(box, ["local", "eventual", "consistent", "strong"].filter((s) => r.body.scopes[s]).map((s) => {
      const l = r.body.scopes[s];
      return h("div", { class: "card" }, h("h2", {}, s + " (" + l.total + ")"),
        l.names.length ? h("table", {}, h("tbody", {}, l.names.map((n) => h("tr", {},
          h("td", {}, n.name), h("td", {}, pidLink(n.pid)), h("td", { class: "muted" }, n.pending ? "pending" : "")))))
          : h("span", { class: "muted" }, "none"),
        l.pages > 1 ? h("div", { class: "pager" },
          h("button", { disabled: l.page <= 1, onclick: () => go(s, l.page - 1) }, "‹ previous"),
          h("span", {}, `page ${l.page} of ${l.pages}`),
          h("button", { disabled: l.page >= l.pages, onclick: () => go(s, l.page + 1) }, "next ›")) : null);
    }));
  });
}

function groupsView(node, params) {
  navFor(node, "groups");
  const view = $("#view");
  const groupIn = h("input", { id: "g-group", placeholder: "part of a group name" });
  groupIn.value = params.get("group") || "";
  const form = h("form", { class: "filters" }, h("label", {}, "group", groupIn), h("button", { type: "submit" }, "filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = "#/n/" + enc(node) + "/groups" + (groupIn.value ? "?group=" + enc(groupIn.value) : "");
  });
  const box = h("div", { id: "groups" });
  fill(view, h("h1", {}, "Process groups seen by " + node), form, box);
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  poll(async () => {
    const q = new URLSearchParams();
    for (const k of ["group", "scope"]) if (params.get(k)) q.set(k, params.get(k));
    q.set("page", page);
    q.set("per_page", "50");
    const r = await api("/v1/nodes/" + enc(node) + "/groups?" + q);
    if (r.status !== 200) { setStatus(r.body.error || "HTTP " + r.status, true); return; }
    setStatus("updated " + new Date().toLocaleTimeString());
    const go = (s, n) => { const q2 = new URLSearchParams(params); q2.set("scope", s); q2.set("page", n); location.hash = "#/n/" + enc(node) + "/groups?" + q2; };
    fill(box, r.body.scopes.length ? r.body.scopes.map((sc) => h("div", { class: "card" }, h("h2", {}, "scope " + sc.scope + " (" + sc.total + " groups)"),
      sc.groups.length ? h("table", {}, h("tbody", {}, sc.groups.map((g) => h("tr", {},
        h("td", {}, g.name), h("td", { class: "num" }, g.total),
        h("td", {}, g.members.map((m) => h("div", {}, pidLink(m))), g.total > g.members.length ? h("div", { class: "muted" }, `${g.total - g.members.length} more`) : null)))))
        : h("span", { class: "muted" }, "no groups"),
      sc.pages > 1 ? h("div", { class: "pager" },
        h("button", { disabled: sc.page <= 1, onclick: () => go(sc.scope, sc.page - 1) }, "‹ previous"),
        h("span", {}, `page ${sc.page} of ${sc.pages}`),
        h("button", { disabled: sc.page >= sc.pages, onclick: () => go(sc.scope, sc.page + 1) }, "next ›")) : null))
      : h("p", { class: "muted" }, "no pg scopes on this node"));
  });
}

// ---- routing ----

function route() {
  gen++;
  showMode();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "n" || !parts[1]) return clusterView();
  const node = parts[1];
  switch (parts[2]) {
    case undefined: return nodeView(node);
    case "processes": return processesView(node, params);
    case "p": return processView(node, parts.slice(3).join("/"));
    case "names": return namesView(node, params);
    case "groups": return groupsView(node, params);
  }
  return clusterView();
}

async function init() {
  $("#token").value = token();
  $("#token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("#token").value.trim();
    if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
    start();
  });
  window.addEventListener("hashchange", route);
  start();
}

async function start() {
  const r = await api("/v1/observer");
  if (r.status === 200) info = r.body;
  $("#self").textContent = info.node ? "on " + info.node : "";
  route();
}

init();
