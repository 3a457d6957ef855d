// The circuit console page, second part: the selected element's details, its live output, and the
// forms. Loaded after console.js, whose state and helpers it uses.
"use strict";

// Output kept in the page per process view: a fast stream trims the oldest text, never freezes.
const OUTPUT_CAP_CHARS = 100_000;

// --- details of the selected element --------------------------------------------------------

let output = null; // { source, pre, pending, chars }

function select(path) {
  state.selected = path;
  renderNow();
  closeOutput();
  if (path === null) {
    $("detail").replaceChildren(el("p", { class: "empty dim" }, "Select an anchor to see its element."));
    return;
  }
  api("peek", { path }).then((got) => {
    if (state.selected !== path) return;
    const node = state.nodes.get(path);
    if (node && got) node.status = got.state;
    renderDetail(got);
    if (got && (got.kind === "proc" || got.kind === "docker")) openOutput(path);
  }, () => {});
}

function value(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (Array.isArray(v)) {
    return v.length ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(" ") : "[]";
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function kvList(obj) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length && k !== "env") {
      for (const [k2, v2] of Object.entries(v)) {
        dl.append(el("dt", {}, `${k}.${k2}`), el("dd", {}, value(v2)));
      }
    } else {
      dl.append(el("dt", {}, k), el("dd", {}, value(v)));
    }
  }
  return dl;
}

function renderDetail(got) {
  const path = state.selected;
  const box = $("detail");
  const keep = output?.wrap;
  if (!got) {
    box.replaceChildren(
      el("div", { class: "detail-head" }, el("span", { class: "path" }, path)),
      el("p", { class: "empty dim" }, "No element at this anchor."),
    );
    return;
  }
  const node = { kind: got.kind, status: got.state };
  const st = statusText(node);
  const head = el(
    "div",
    { class: "detail-head" },
    el("span", { class: "path" }, path),
    el("span", { class: "badge" }, got.kind),
    st ? el("span", { class: `badge ${st[1]}` }, st[0]) : null,
  );
  const actions = el("div", { class: "actions" });
  if (got.kind === "proc" || got.kind === "docker") {
    const sig = el(
      "select",
      { id: "signal-name" },
      ...["TERM", "INT", "HUP", "KILL", "USR1", "USR2", "STOP", "CONT"].map((s) =>
        el("option", { value: s }, s)
      ),
    );
    actions.append(
      sig,
      el("button", {
        id: "signal-btn",
        onclick: () => api("signal", { path, signal: sig.value }).then(() => refreshStatus(path), () => {}),
      }, "Signal"),
    );
  }
  if (got.kind === "chan") {
    const text = el("input", { id: "send-text", class: "mono", placeholder: "message" });
    actions.append(
      text,
      el("button", {
        onclick: () =>
          api("send", { path, text: text.value }).then(() => {
            text.value = "";
            refreshStatus(path);
          }, () => {}),
      }, "Send"),
      el(
        "button",
        { onclick: () => api("close", { path }).then(() => refreshStatus(path), () => {}) },
        "Close",
      ),
    );
  }
  if (got.kind !== "server") {
    actions.append(el("button", {
      id: "scrub-btn",
      class: "danger",
      onclick: () => {
        if (confirm(`Scrub ${path}?`)) api("scrub", { path }).catch(() => {});
      },
    }, "Scrub"));
  }
  const parts = [head, actions, kvList(got.state)];
  if (keep) parts.push(keep);
  box.replaceChildren(...parts);
}

function openOutput(path) {
  const pre = el("pre", { class: "output", id: "output" });
  const wrap = el(
    "div",
    { class: "output-wrap" },
    el(
      "div",
      { class: "output-head" },
      "output",
      el("span", {}, "stdout"),
      el("span", { class: "legend-err" }, "stderr"),
    ),
    pre,
  );
  $("detail").append(wrap);
  const source = new EventSource(`/output?path=${encodeURIComponent(path)}`);
  output = { source, pre, wrap, pending: [], chars: 0, queued: false };
  const o = output;
  source.addEventListener("output", (m) => {
    o.pending.push(JSON.parse(m.data));
    if (!o.queued) {
      o.queued = true;
      requestAnimationFrame(() => flushOutput(o));
    }
  });
  source.addEventListener("end", () => {
    source.close();
    refreshStatus(path);
  });
  source.addEventListener("failure", (m) => {
    source.close();
    showError(`circuit: tail: ${JSON.parse(m.data)}`);
  });
}

function flushOutput(o) {
  o.queued = false;
  const stick = o.pre.scrollTop + o.pre.clientHeight >= o.pre.scrollHeight - 4;
  const frag = document.createDocumentFragment();
  for (const { stream, text, skipped } of o.pending) {
    if (skipped > 0) {
      // The console sends the newest part of a flood; the gap is said, in the text's own place.
      const note = `\n… ${bytesText(skipped)} of ${stream} not shown …\n`;
      frag.append(el("span", { class: "skipped" }, note));
      o.chars += note.length;
    }
    frag.append(stream === "stderr" ? el("span", { class: "err" }, text) : document.createTextNode(text));
    o.chars += text.length;
  }
  o.pending = [];
  o.pre.append(frag);
  while (o.chars > OUTPUT_CAP_CHARS && o.pre.firstChild) {
    o.chars -= o.pre.firstChild.textContent.length;
    o.pre.firstChild.remove();
  }
  if (stick) o.pre.scrollTop = o.pre.scrollHeight;
}

function bytesText(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function closeOutput() {
  output?.source.close();
  output = null;
}

// --- forms -----------------------------------------------------------------------------------

function parseArgs(text) {
  const t = text.trim();
  if (t === "") return [];
  if (t.startsWith("[")) return JSON.parse(t);
  if (t.includes("\n")) return t.split("\n");
  // Shell-like words: double or single quotes group.
  return [...t.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

$("proc-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const cmd = {
    path: f.get("path"),
    args: parseArgs(String(f.get("args") ?? "")),
    scrub: f.get("scrub") === "on",
  };
  if (f.get("dir")) cmd.dir = f.get("dir");
  if (f.get("env")) cmd.env = String(f.get("env")).trim().split(/\s+/);
  const path = String(f.get("anchor"));
  api("proc", { path, cmd }).then(() => {
    state.expanded.add(path.split("/")[1]);
    select(path);
  }, () => {});
});

$("chan-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const path = String(f.get("anchor"));
  api("chan", { path, cap: Number(f.get("cap")) }).then(() => select(path), () => {});
});
