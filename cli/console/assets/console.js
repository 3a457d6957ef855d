// The circuit console page: state from server-sent events (/events: the cluster's change feed,
// /output: a process's live output), actions as JSON POSTs to /api/<name>. No framework.
"use strict";

// Timeline entries kept.
const TIMELINE_CAP = 200;

const $ = (id) => document.getElementById(id);
const state = {
  servers: new Map(), // id -> { state, addr, host }
  nodes: new Map(), // path -> { kind, status }
  expanded: new Set(),
  selected: null,
  timeline: [],
  dialed: "",
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function api(name, body) {
  const res = await fetch(`/api/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const answer = await res.json().catch(() => ({ ok: false, error: `circuit: console: HTTP ${res.status}` }));
  if (!answer.ok) {
    showError(answer.error);
    throw new Error(answer.error);
  }
  return answer.value;
}

function showError(text) {
  $("error-text").textContent = text;
  $("error").hidden = false;
}
$("error-close").addEventListener("click", () => ($("error").hidden = true));

// Changes from the cluster are redrawn at most this often: a cluster busy with short jobs then
// costs the page (and the machine it shares) four repaints a second. What the user does is drawn
// at the next frame (`renderNow`), so a click is answered well within 100 ms.
const REDRAW_EVERY_MS = 250;
let renderTimer = null;
let lastRender = 0;
function draw() {
  clearTimeout(renderTimer);
  renderTimer = null;
  lastRender = performance.now();
  renderServers();
  renderTree();
  renderTimeline();
}
function render() {
  if (renderTimer !== null) return;
  renderTimer = setTimeout(
    () => requestAnimationFrame(draw),
    Math.max(0, lastRender + REDRAW_EVERY_MS - performance.now()),
  );
}
function renderNow() {
  requestAnimationFrame(draw);
}

function shortTime(iso) {
  return iso ? iso.slice(11, 23) : "";
}

function renderServers() {
  const key = JSON.stringify([[...state.servers].sort(), state.dialed]);
  if (key === drawn.servers) return;
  drawn.servers = key;
  const list = $("servers");
  list.replaceChildren();
  const ids = [...state.servers.keys()].sort();
  $("server-count").textContent = String(ids.length);
  for (const id of ids) {
    const s = state.servers.get(id);
    list.append(el(
      "li",
      { "data-server": id, class: `server s-row-${s.state}` },
      el(
        "div",
        {},
        el("span", { class: "id" }, id),
        el("span", { class: `badge s-${s.state}` }, s.state),
        id === state.dialed ? el("span", { class: "badge dim" }, "dialed") : null,
      ),
      s.host ? el("div", { class: "addr" }, s.host) : null,
      el("div", { class: "addr" }, s.addr ?? ""),
    ));
  }
}

function renderTimeline() {
  const list = $("timeline");
  if (drawn.timeline === state.timeline.length) return;
  drawn.timeline = state.timeline.length;
  if (state.timeline.length === 0) {
    list.replaceChildren(el("li", { class: "dim" }, "no changes since the page opened"));
    return;
  }
  list.replaceChildren(
    ...state.timeline.slice(-TIMELINE_CAP).reverse().map((t) =>
      el(
        "li",
        { class: `ev-${t.event}` },
        el("time", {}, shortTime(t.time)),
        el("span", {
          class: `s-${t.event === "joined" ? "alive" : t.event === "suspect" ? "suspect" : "left"}`,
        }, t.event),
        " ",
        t.path,
      )
    ),
  );
}

function statusText(node) {
  const st = node.status;
  if (!st) return null;
  if (node.kind === "proc") {
    if (st.phase === "running") return ["running", "s-running"];
    if (st.phase === "unknown") return ["never started", "s-bad"];
    if (!st.exit) return ["exited 0", "s-done"];
    if (st.exit.signal) return [`signalled ${st.exit.signal.replace(/^SIG/, "")}`, "s-bad"];
    return [`exited ${st.exit.code}`, st.exit.code === 0 ? "s-done" : "s-bad"];
  }
  if (node.kind === "docker") return [st.state?.status ?? (st.running ? "running" : "stopped"), "s-done"];
  if (node.kind === "chan") {
    return [`${st.pending ?? 0}/${st.cap ?? "?"}${st.closed ? " closed" : ""}`, "s-done"];
  }
  return null;
}

// What each section last drew: a section whose content did not change is not redrawn, so a
// busy cluster whose servers are collapsed costs the page a few counters, not a relayout.
const drawn = { tree: "", servers: "", timeline: -1 };

function renderTree() {
  const tree = $("tree");
  // Set only when it changes: even the same text replaces the node and costs a relayout.
  const anchors = String(state.nodes.size);
  if ($("anchor-count").textContent !== anchors) $("anchor-count").textContent = anchors;
  const ids = [...state.servers.keys()].sort();
  const counts = new Map(ids.map((id) => [id, 0]));
  for (const p of state.nodes.keys()) {
    const id = p.split("/")[1];
    if (counts.has(id)) counts.set(id, counts.get(id) + 1);
  }
  // Anchors without an element appear as the path components of those with one.
  const rows = [];
  for (const id of ids) {
    const open = state.expanded.has(id);
    rows.push([`/${id}`, 0, "server", open ? "▾" : "▸", id]);
    if (!open) continue;
    const below = [...state.nodes.keys()].filter((p) => p.startsWith(`/${id}/`)).sort();
    const shown = new Set();
    for (const path of below) {
      const parts = path.slice(1).split("/");
      for (let i = 2; i <= parts.length; i++) {
        const p = "/" + parts.slice(0, i).join("/");
        if (shown.has(p)) continue;
        shown.add(p);
        const node = state.nodes.get(p);
        rows.push([p, i - 1, node?.kind ?? null, "", null, node ? statusText(node) : null]);
      }
    }
    if (below.length === 0) rows.push(null);
  }
  const key = JSON.stringify([rows, state.selected]);
  if (key === drawn.tree) {
    for (const span of tree.querySelectorAll("[data-count]")) {
      const n = counts.get(span.dataset.count) ?? 0;
      const text = n ? String(n) : "";
      if (span.textContent !== text) span.textContent = text;
    }
    return;
  }
  drawn.tree = key;
  tree.replaceChildren(...rows.map((r) => {
    if (r === null) return el("div", { class: "empty dim", style: "padding-left:28px" }, "no elements");
    const [path, depth, kind, mark, id] = r;
    return row(
      path,
      depth,
      kind,
      mark,
      id ? () => toggle(id) : null,
      id ? String(counts.get(id) || "") : null,
      id,
    );
  }));
}

function row(path, depth, kind, toggleMark, onToggle, extra, countOf) {
  const node = state.nodes.get(path);
  const st = node ? statusText(node) : null;
  const name = depth === 0 ? path : path.slice(path.lastIndexOf("/") + 1);
  const r = el(
    "div",
    {
      class: `row${state.selected === path ? " selected" : ""}`,
      role: "treeitem",
      "data-path": path,
      style: `padding-left:${6 + depth * 16}px`,
    },
    el("span", {
      class: "toggle",
      onclick: (e) => {
        e.stopPropagation();
        onToggle?.();
      },
    }, toggleMark),
    el("span", { class: "name" }, name),
    kind ? el("span", { class: "kind" }, kind) : null,
    st
      ? el("span", { class: `status ${st[1]}` }, st[0])
      : countOf
      ? el("span", { class: "status dim", "data-count": countOf }, extra)
      : null,
  );
  r.addEventListener("click", () => {
    if (depth === 0 && !state.expanded.has(path.slice(1))) toggle(path.slice(1));
    select(path);
  });
  return r;
}

function toggle(id) {
  if (state.expanded.has(id)) state.expanded.delete(id);
  else {
    state.expanded.add(id);
    for (const [p, node] of state.nodes) {
      if (p.startsWith(`/${id}/`) && node.status === null) refreshStatus(p);
    }
  }
  renderNow();
}

// Only what is on screen is peeked: a collapsed server's processes cost the cluster nothing.
function visible(path) {
  return state.selected === path || state.expanded.has(path.split("/")[1]);
}

// Peeks are coalesced per path: a burst of events on one process costs one request, and one
// scrubbed meanwhile (a short-lived job) costs none.
const peeking = new Map();
function refreshStatus(path) {
  if (peeking.has(path) || !visible(path)) return;
  peeking.set(
    path,
    setTimeout(async () => {
      peeking.delete(path);
      if (!state.nodes.has(path) && state.selected !== path) return;
      try {
        const got = await api("peek", { path });
        const node = state.nodes.get(path);
        if (node && got) node.status = got.state;
        render();
        if (state.selected === path) renderDetail(got);
      } catch { /* shown */ }
    }, 50),
  );
}

let viewTimer = null;
function refreshView() {
  clearTimeout(viewTimer);
  viewTimer = setTimeout(async () => {
    try {
      for (const s of await api("view")) {
        const known = state.servers.get(s.id);
        if (known) Object.assign(known, { addr: s.addr ?? known.addr, host: s.host ?? known.host });
      }
      render();
    } catch { /* shown */ }
  }, 100);
}

function apply(ev) {
  const isServer = ev.Kind === "server";
  const id = ev.Path.slice(1);
  switch (ev.Event) {
    case "overflow":
      state.nodes.clear();
      break;
    case "exists":
    case "created":
      if (isServer) {
        state.servers.set(id, { ...(state.servers.get(id) ?? {}), state: "alive" });
        refreshView();
      } else {
        state.nodes.set(ev.Path, { kind: ev.Kind, status: null });
        if (ev.Kind === "proc" || ev.Kind === "docker") refreshStatus(ev.Path);
      }
      break;
    case "exited":
      refreshStatus(ev.Path);
      break;
    case "scrubbed":
      state.nodes.delete(ev.Path);
      if (state.selected === ev.Path) select(null);
      break;
    case "joined":
    case "suspect":
    case "left":
      state.timeline.push({ time: ev.Time, event: ev.Event, path: ev.Path });
      if (ev.Event === "left") {
        state.servers.delete(id);
        for (const p of [...state.nodes.keys()]) if (p.startsWith(`/${id}/`)) state.nodes.delete(p);
      } else {
        state.servers.set(id, {
          ...(state.servers.get(id) ?? {}),
          state: ev.Event === "joined" ? "alive" : "suspect",
        });
        refreshView();
      }
      break;
  }
  render();
}

// --- the change feed -------------------------------------------------------------------------

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("hello", (m) => {
    // A (re)connection starts from a fresh snapshot.
    const hello = JSON.parse(m.data);
    state.dialed = hello.server;
    state.servers.clear();
    state.nodes.clear();
    $("dialed").textContent = `via ${hello.addr}`;
    $("link").textContent = "live";
    $("link").className = "link on";
    render();
  });
  source.addEventListener("changes", (m) => {
    for (const ev of JSON.parse(m.data)) apply(ev);
  });
  source.addEventListener("failure", (m) => showError(`circuit: watch: ${JSON.parse(m.data)}`));
  source.onerror = () => {
    $("link").textContent = "reconnecting…";
    $("link").className = "link off";
  };
}
// Both scripts are loaded by then: the feed may call into the details (console_detail.js).
addEventListener("DOMContentLoaded", connect);
