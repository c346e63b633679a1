// sheriff dashboard. Every view reads one or more /api/... endpoints with
// the same query as the page's address (#/view?query), and builds the DOM
// with text nodes only (no HTML from data is ever parsed).
"use strict";

const STATES = ["new", "regressed", "spiking", "acked", "silenced", "resolved", "known"];
const KINDS = ["error", "puppet", "drift", "spike"];
const FACETS = ["wiki", "host", "version", "channel"];

// h builds an element: h("a", {href: "#"}, "text", child, ...).
function h(tag, attrs, ...kids) {
  const ns = tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : null;
  const el = ns ? document.createElementNS(ns, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

async function getJSON(url) {
  const resp = await fetch(url, {headers: {Accept: "application/json"}});
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { msg += ": " + (await resp.json()).error; } catch (e) { /* not JSON */ }
    const err = new Error(url + ": " + msg);
    err.status = resp.status;
    throw err;
  }
  return {data: await resp.json(), headers: resp.headers};
}

// ---- formatting

function ago(iso, now) {
  if (!iso || iso.startsWith("0001")) return "never";
  const d = ((now || Date.now()) - Date.parse(iso)) / 1000;
  if (d < 0) return "just now";
  if (d < 60) return Math.round(d) + "s ago";
  if (d < 3600) return Math.round(d / 60) + " min ago";
  if (d < 48 * 3600) return Math.round(d / 3600) + " h ago";
  return Math.round(d / 86400) + "d ago";
}

function when(iso) {
  if (!iso || iso.startsWith("0001")) return "";
  const t = new Date(iso);
  return t.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

function time(iso, now) {
  if (!iso || iso.startsWith("0001")) return h("span", {class: "muted"}, "never");
  return h("time", {datetime: iso, title: when(iso)}, ago(iso, now));
}

function num(n) { return Number(n || 0).toLocaleString("en-US"); }

function badge(state) { return h("span", {class: "badge s-" + state}, state); }

function taskCell(s) {
  if (!s.task) return h("span", {class: "muted"}, "—");
  if (s.task_url) return h("a", {href: s.task_url, rel: "noreferrer"}, s.task);
  return h("span", {title: "dry-run: written to the outbox, not filed"}, s.task, h("small", {class: "muted"}, " dry-run"));
}

// ---- charts (inline SVG, no library)

function sparkline(values, label) {
  const w = 84, hgt = 22, max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 4)).toFixed(1)}`).join(" ");
  return h("svg:svg", {class: "spark", width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": label},
    h("svg:title", {}, label),
    h("svg:polyline", {points: pts, fill: "none", "stroke-width": 1.5}));
}

// barChart draws hourly counts with day ticks.
function barChart(from, counts, stepMs) {
  const w = 860, hgt = 180, padL = 44, padB = 22, padT = 8;
  const max = Math.max(1, ...counts);
  const bw = (w - padL) / counts.length;
  const start = Date.parse(from);
  const total = counts.reduce((a, b) => a + b, 0);
  const svg = h("svg:svg", {class: "chart", viewBox: `0 0 ${w} ${hgt}`, role: "img",
    "aria-label": `events per hour, ${num(total)} in total, at most ${num(max)} in one hour`});
  for (const frac of [0, 0.5, 1]) {
    const y = padT + (hgt - padT - padB) * (1 - frac);
    svg.append(h("svg:line", {x1: padL, x2: w, y1: y, y2: y, class: "grid"}));
    svg.append(h("svg:text", {x: padL - 6, y: y + 4, "text-anchor": "end", class: "axis"}, num(Math.round(max * frac))));
  }
  counts.forEach((c, i) => {
    const t = start + i * stepMs;
    if (new Date(t).getUTCHours() === 0) {
      const x = padL + i * bw;
      svg.append(h("svg:line", {x1: x, x2: x, y1: padT, y2: hgt - padB, class: "grid"}));
      svg.append(h("svg:text", {x: x + 2, y: hgt - 6, class: "axis"}, new Date(t).toISOString().slice(5, 10)));
    }
    if (!c) return;
    const bh = (c / max) * (hgt - padT - padB);
    svg.append(h("svg:rect", {x: padL + i * bw, y: hgt - padB - bh, width: Math.max(1, bw - 0.5), height: bh, class: "bar"},
      h("svg:title", {}, `${new Date(t).toISOString().slice(0, 13).replace("T", " ")}:00 UTC: ${num(c)}`)));
  });
  return svg;
}

// lineChart draws one line per series over runs (drift counts per class).
function lineChart(times, series) {
  const w = 860, hgt = 200, padL = 44, padB = 22, padT = 8;
  const names = Object.keys(series).sort();
  const max = Math.max(1, ...names.flatMap(n => series[n]));
  const x = i => padL + (times.length > 1 ? i * (w - padL - 10) / (times.length - 1) : (w - padL) / 2);
  const y = v => padT + (hgt - padT - padB) * (1 - v / max);
  const svg = h("svg:svg", {class: "chart", viewBox: `0 0 ${w} ${hgt}`, role: "img", "aria-label": "findings per class per run"});
  for (const frac of [0, 0.5, 1]) {
    svg.append(h("svg:line", {x1: padL, x2: w, y1: y(max * frac), y2: y(max * frac), class: "grid"}));
    svg.append(h("svg:text", {x: padL - 6, y: y(max * frac) + 4, "text-anchor": "end", class: "axis"}, num(Math.round(max * frac))));
  }
  times.forEach((t, i) => {
    if (times.length <= 8 || i % Math.ceil(times.length / 8) === 0) {
      svg.append(h("svg:text", {x: x(i), y: hgt - 6, "text-anchor": "middle", class: "axis"}, t.slice(5, 10)));
    }
  });
  names.forEach((n, k) => {
    const pts = series[n].map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(h("svg:polyline", {points: pts, class: "line c" + (k % 6), fill: "none"}, h("svg:title", {}, n)));
    series[n].forEach((v, i) => svg.append(h("svg:circle", {cx: x(i), cy: y(v), r: 2.5, class: "dot c" + (k % 6)},
      h("svg:title", {}, `${n}: ${num(v)} (${times[i].slice(0, 10)})`))));
  });
  const legend = h("ul", {class: "legend"}, names.map((n, k) => h("li", {}, h("span", {class: "swatch c" + (k % 6)}), n)));
  return h("figure", {}, svg, legend);
}

// ---- routing

function route() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return {view: parts[0] || "signatures", args: parts.slice(1), params: new URLSearchParams(query || "")};
}

function go(view, params) {
  const q = params && params.toString();
  location.hash = "#/" + view + (q ? "?" + q : "");
}

function setAPILink(url) {
  const a = document.getElementById("apilink");
  a.href = url;
}

const main = () => document.getElementById("main");

function show(...nodes) {
  main().replaceChildren(...nodes.flat(Infinity).filter(n => n !== null && n !== undefined && n !== false));
}

function failure(err) {
  show(h("div", {class: "error", role: "alert"}, "Could not load: ", err.message));
}

// ---- views

async function signaturesView(params) {
  const api = "/api/signatures?" + params.toString();
  setAPILink(api);
  const [{data: sigs, headers}, {data: facets}] = await Promise.all([getJSON(api), getJSON("/api/facets")]);
  const total = Number(headers.get("X-Total-Count") || sigs.length);
  const sparkEnd = headers.get("X-Spark-End");
  const days = headers.get("X-Spark-Days") || 7;

  const change = () => {
    const p = new URLSearchParams();
    for (const el of form.elements) {
      if (el.name && el.value) p.set(el.name, el.value);
    }
    go("signatures", p);
  };
  const select = (name, label, options) => h("label", {}, label,
    h("select", {name, onchange: change},
      h("option", {value: ""}, "all"),
      options.map(o => h("option", {value: o, selected: params.get(name) === o}, o))));
  const input = (name, label, list) => h("label", {}, label,
    h("input", {name, value: params.get(name) || "", list: list ? "dl-" + name : null, size: 12, autocomplete: "off"}),
    list ? h("datalist", {id: "dl-" + name}, (facets[name] || []).map(f => h("option", {value: f.value}, `${f.value} (${num(f.count)})`))) : null);
  const form = h("form", {class: "filters", role: "search", onsubmit: e => { e.preventDefault(); change(); }},
    select("status", "Status", STATES),
    select("kind", "Kind", KINDS),
    FACETS.map(f => input(f, f[0].toUpperCase() + f.slice(1), true)),
    h("label", {class: "grow"}, "Search", h("input", {name: "q", id: "search", type: "search", value: params.get("q") || "", placeholder: "title, message or id  ( / )"})),
    h("input", {type: "hidden", name: "order", value: params.get("order") || ""}),
    h("button", {type: "submit"}, "Filter"),
    (params.toString() ? h("a", {href: "#/signatures", class: "reset"}, "clear") : null));

  const sortLink = (key, label) => {
    const p = new URLSearchParams(params);
    p.set("order", key);
    const cur = (params.get("order") || "attention") === key;
    return h("a", {href: "#/signatures?" + p, "aria-current": cur ? "true" : null, class: "sort"}, label);
  };
  const stateLink = st => {
    const p = new URLSearchParams(params);
    p.set("status", st);
    return h("a", {href: "#/signatures?" + p, class: "badge s-" + st, title: "show only " + st}, st);
  };
  const rows = sigs.map(s => h("tr", {class: "row"},
    h("td", {}, stateLink(s.state)),
    h("td", {}, s.kind),
    h("td", {class: "title"}, h("a", {href: `#/signature/${encodeURIComponent(s.kind)}/${encodeURIComponent(s.id)}`, class: "rowlink"}, s.title || s.id),
      h("div", {class: "muted small"}, h("code", {}, s.id.slice(0, 12)), s.acked_by ? " · acked by " + s.acked_by : "", s.silence ? ` · silence #${s.silence}` : "")),
    h("td", {class: "num"}, num(s.count)),
    h("td", {}, sparkline(s.spark || [], `${num((s.spark || []).reduce((a, b) => a + b, 0))} events in the ${days} days to ${when(sparkEnd)}`)),
    h("td", {}, time(s.first_seen)),
    h("td", {}, time(s.last_seen)),
    h("td", {class: "small"}, ["wiki", "host", "version"].map(f => (s.top && s.top[f]) ?
      h("div", {}, h("span", {class: "muted"}, f + " "), s.top[f].map(v => `${v.value} (${num(v.count)})`).join(", ")) : null)),
    h("td", {class: "task"}, taskCell(s))));
  const table = sigs.length ? h("table", {class: "list"},
    h("caption", {}, `${num(sigs.length)} of ${num(total)} signatures`, sparkEnd ? ` · trends: ${days} days to ${when(sparkEnd)}` : ""),
    h("thead", {}, h("tr", {},
      h("th", {scope: "col"}, sortLink("attention", "Status")), h("th", {scope: "col"}, "Kind"), h("th", {scope: "col"}, "Signature"),
      h("th", {scope: "col", class: "num"}, sortLink("count", "Count")), h("th", {scope: "col"}, "Trend"),
      h("th", {scope: "col"}, sortLink("first_seen", "First seen")), h("th", {scope: "col"}, sortLink("last_seen", "Last seen")),
      h("th", {scope: "col"}, "Top wikis · hosts · versions"), h("th", {scope: "col"}, "Task"))),
    h("tbody", {}, rows)) : h("p", {class: "empty"}, "No signatures match these filters.");
  show(h("h2", {}, "Signatures"), form, table);
}

async function signatureView(kind, id) {
  const api = `/api/signatures/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`;
  setAPILink(api);
  const {data: s} = await getJSON(api);
  const facetTables = Object.keys(s.facets || {}).sort().map(name => {
    const vals = Object.entries(s.facets[name]).sort((a, b) => b[1] - a[1]);
    const max = Math.max(1, ...vals.map(v => v[1]));
    return h("section", {class: "facet"}, h("h4", {}, name),
      h("table", {}, h("tbody", {}, vals.slice(0, 12).map(([v, c]) => h("tr", {},
        h("td", {}, v), h("td", {class: "num"}, num(c)),
        h("td", {}, h("span", {class: "meter", style: null, "data-w": Math.round(100 * c / max)})))))),
      vals.length > 12 ? h("p", {class: "muted small"}, `+${vals.length - 12} more`) : null);
  });
  const silences = s.silences.length ? h("table", {class: "list"},
    h("thead", {}, h("tr", {}, ["#", "matcher", "by", "reason", "from", "until", "state"].map(c => h("th", {scope: "col"}, c)))),
    h("tbody", {}, s.silences.map(x => h("tr", {},
      h("td", {}, "#" + x.id), h("td", {}, x.kind + " ", h("code", {}, x.matcher)), h("td", {}, x.author), h("td", {}, x.reason),
      h("td", {}, when(x.created)), h("td", {}, when(x.ended && !x.ended.startsWith("0001") ? x.ended : x.expires)),
      h("td", {}, x.active ? badge("silenced") : (x.ended_by ? "lifted by " + x.ended_by : "expired"))))))
    : h("p", {class: "muted"}, "No silence has matched it.");
  const trail = [
    ...s.announced.map(a => ({at: a.sent && !a.sent.startsWith("0001") ? a.sent : a.queued, who: "sheriff (IRC)",
      what: `#${a.id} ${a.reason === "new" ? "announced" : a.reason === "remind" ? "reminder" : "escalated"}` +
        (a.to ? " to " + a.to : "") + (a.burst ? ` (burst b${a.burst})` : ""), result: a.dropped ? "not sent: " + a.dropped : (a.sent && !a.sent.startsWith("0001") ? "sent" : "queued")})),
    ...s.audit.map(e => ({at: e.at, who: e.who, what: e.action + " " + e.args, result: e.result})),
  ].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const auditTable = trail.length ? h("table", {class: "list"},
    h("thead", {}, h("tr", {}, ["when", "who", "what", "result"].map(c => h("th", {scope: "col"}, c)))),
    h("tbody", {}, trail.map(e => h("tr", {}, h("td", {}, when(e.at)), h("td", {}, e.who), h("td", {}, e.what), h("td", {}, e.result)))))
    : h("p", {class: "muted"}, "Nothing recorded yet.");
  const total = (s.hourly.counts || []).reduce((a, b) => a + b, 0);
  show(
    h("p", {}, h("a", {href: "#/signatures", id: "back"}, "← Signatures")),
    h("h2", {class: "sigtitle"}, s.title || s.id),
    h("dl", {class: "meta"},
      h("dt", {}, "State"), h("dd", {id: "sig-state"}, badge(s.state), s.status !== s.state ? h("span", {class: "muted"}, " (tracker: " + s.status + ")") : null),
      h("dt", {}, "Kind"), h("dd", {}, s.kind),
      h("dt", {}, "Id"), h("dd", {}, h("code", {}, s.id)),
      h("dt", {}, "Count"), h("dd", {}, num(s.count)),
      h("dt", {}, "First seen"), h("dd", {}, when(s.first_seen)),
      h("dt", {}, "Last seen"), h("dd", {}, when(s.last_seen)),
      h("dt", {}, "Task"), h("dd", {id: "sig-task"}, taskCell(s)),
      h("dt", {}, "Acked"), h("dd", {id: "sig-ack"}, s.ack ? `by ${s.ack.who}, ${when(s.ack.at)}` : "no"),
      s.severity ? [h("dt", {}, "Severity"), h("dd", {}, s.severity)] : null),
    h("h3", {}, "Events per hour"),
    h("p", {class: "muted small"}, `${num(total)} events from ${when(s.hourly.from)} (hourly buckets from the tracker)`),
    barChart(s.hourly.from, s.hourly.counts || [], 3600 * 1000),
    h("h3", {}, "Facets"), h("div", {class: "facets"}, facetTables.length ? facetTables : h("p", {class: "muted"}, "none")),
    s.template ? [h("h3", {}, "Template"), h("pre", {}, s.template)] : null,
    h("h3", {}, "Sample (redacted)"), h("pre", {id: "sig-sample"}, s.sample || "—"),
    s.trace ? [h("h3", {}, "Trace (redacted)"), h("pre", {id: "sig-trace"}, s.trace)] : null,
    h("h3", {}, "Silences"), silences,
    h("h3", {}, "Audit trail"), auditTable);
  for (const m of document.querySelectorAll(".meter")) m.style.width = m.dataset.w + "%";
}

async function puppetView(params) {
  const q = params.toString();
  setAPILink("/api/puppet/hosts" + (q ? "?" + q : ""));
  let hosts, causes;
  try {
    [{data: hosts}, {data: causes}] = await Promise.all([
      getJSON("/api/puppet/hosts" + (q ? "?" + q : "")), getJSON("/api/puppet/causes" + (q ? "?" + q : ""))]);
  } catch (err) {
    if (err.status !== 404) throw err;
    show(h("h2", {}, "Puppet"), h("p", {class: "empty"}, "The puppet check is not configured (see the puppet section of the configuration)."));
    return;
  }
  const byId = Object.fromEntries((causes.causes || []).map(c => [c.id, c]));
  const order = ["failing", "stale", "disabled", "healthy"];
  const groups = order.map(st => {
    const hs = (hosts.hosts || []).filter(x => x.state === st);
    return h("section", {class: "hostgroup"}, h("h3", {}, badge(st), ` ${hs.length} ${st}`),
      hs.length ? h("table", {class: "list"},
        h("thead", {}, h("tr", {}, ["host", "last run", "last good run", "causes"].map(c => h("th", {scope: "col"}, c)))),
        h("tbody", {}, hs.map(x => h("tr", {}, h("td", {}, h("code", {}, x.host)), h("td", {}, time(x.last_run)), h("td", {}, time(x.last_good_run)),
          h("td", {}, (x.causes || []).map(id => h("div", {}, byId[id] ? byId[id].title : id)))))))
        : h("p", {class: "muted"}, "none"));
  });
  const form = h("form", {class: "filters", role: "search", onsubmit: e => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const el of e.target.elements) if (el.name && el.value) p.set(el.name, el.value);
    go("puppet", p);
  }},
    h("label", {}, "State", h("select", {name: "state", onchange: e => e.target.form.requestSubmit()}, h("option", {value: ""}, "all"),
      ["failing", "stale", "healthy", "disabled", "open", "resolved"].map(s => h("option", {value: s, selected: params.get("state") === s}, s)))),
    h("label", {class: "grow"}, "Search", h("input", {name: "q", id: "search", type: "search", value: params.get("q") || ""})),
    h("button", {type: "submit"}, "Filter"));
  const causeRows = (causes.causes || []).map(c => h("tr", {},
    h("td", {}, h("span", {class: "badge " + (c.state === "open" ? "s-failing" : "s-resolved")}, c.state)), h("td", {}, c.title, h("div", {class: "muted small"}, c.kind)),
    h("td", {}, time(c.first_seen)), h("td", {}, time(c.last_seen)),
    h("td", {}, (c.hosts || []).map(x => h("div", {}, h("code", {}, x.host), ` ${x.state}`, x.last_good ? h("span", {class: "muted"}, " · last good ", ago(x.last_good)) : null))),
    h("td", {}, c.task ? (c.task_url && /^https?:/.test(c.task_url) ? h("a", {href: c.task_url}, c.task) : c.task) : "—")));
  show(h("h2", {}, "Puppet"), form,
    h("div", {class: "hostgroups"}, groups),
    h("h3", {}, "Causes"),
    causeRows.length ? h("table", {class: "list", id: "causes"},
      h("thead", {}, h("tr", {}, ["state", "cause", "first seen", "last seen", "hosts", "task"].map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, causeRows)) : h("p", {class: "muted"}, "No puppet failure causes."));
}

async function driftView() {
  setAPILink("/api/drift");
  const {data} = await getJSON("/api/drift");
  if (!data.configured) {
    show(h("h2", {}, "Drift"), h("p", {class: "empty"}, "Drift checking is not configured (see the drift section of the configuration)."));
    return;
  }
  const runs = data.runs.slice().reverse();
  const classes = [...new Set(runs.flatMap(r => Object.keys(r.counts || {})))];
  const series = Object.fromEntries(classes.map(c => [c, runs.map(r => (r.counts || {})[c] || 0)]));
  const latest = data.latest;
  show(h("h2", {}, "Drift"),
    latest ? h("section", {class: "card", id: "drift-latest"},
      h("h3", {}, "Latest run ", h("small", {class: "muted"}, when(latest.finished))),
      latest.error ? h("p", {class: "error"}, latest.error) : h("p", {}, latest.summary),
      h("ul", {class: "counts"}, Object.entries(latest.counts || {}).sort().map(([c, n]) => h("li", {}, h("strong", {}, num(n)), " " + c)),
        h("li", {}, h("strong", {}, num(latest.new)), " new"), h("li", {}, h("strong", {}, num(latest.resolved)), " resolved")),
      latest.report_url ? h("p", {}, h("a", {href: latest.report_url}, "Full report")) : null) : h("p", {class: "empty"}, "No drift run yet."),
    runs.length ? [h("h3", {}, "Findings per class over time"), lineChart(runs.map(r => r.finished), series)] : null,
    h("h3", {}, "Runs"),
    h("table", {class: "list", id: "drift-runs"},
      h("thead", {}, h("tr", {}, ["finished", "result", ...classes, "new", "resolved", "report"].map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, data.runs.map(r => h("tr", {},
        h("td", {}, when(r.finished)), h("td", {}, r.error ? h("span", {class: "error"}, "failed: " + r.error) : "ok"),
        classes.map(c => h("td", {class: "num"}, num((r.counts || {})[c]))),
        h("td", {class: "num"}, num(r.new)), h("td", {class: "num"}, num(r.resolved)),
        h("td", {}, r.report_url ? h("a", {href: r.report_url}, "report") : "—"))))));
}

function healthCard(title, st, extra) {
  if (!st) return h("section", {class: "card"}, h("h3", {}, title), h("p", {class: "muted"}, "not configured"));
  return h("section", {class: "card health-" + st.state, id: "health-" + st.name},
    h("h3", {}, title, " ", h("span", {class: "badge st-" + st.state}, st.state)),
    h("p", {}, st.detail || ""), h("p", {class: "muted small"}, "since ", when(st.since), st.last_ok ? " · last OK " + ago(st.last_ok) : ""), extra);
}

async function dutyView(params) {
  setAPILink("/api/duty");
  const {data: d} = await getJSON("/api/duty" + (params.toString() ? "?" + params : ""));
  const who = d.rota ? h("section", {class: "card", id: "duty-now"},
    h("h3", {}, "On duty"), h("p", {class: "big"}, d.current.nick),
    h("p", {}, "until ", when(d.handoff), ", then ", h("strong", {}, d.next.nick)))
    : h("section", {class: "card", id: "duty-now"}, h("h3", {}, "On duty"), h("p", {class: "muted"}, "No rota is configured (irc.rota)."));
  const conn = d.irc_connection;
  const unacked = d.unacked.length ? h("table", {class: "list", id: "unacked"},
    h("caption", {}, `${num(d.unacked_total)} open findings nobody has acked (new, regressed or spiking, or seen in the last 24 h)`),
    h("thead", {}, h("tr", {}, ["state", "signature", "count", "last seen", "task"].map(c => h("th", {scope: "col"}, c)))),
    h("tbody", {}, d.unacked.map(s => h("tr", {class: "row"}, h("td", {}, badge(s.state)),
      h("td", {}, h("a", {class: "rowlink", href: `#/signature/${encodeURIComponent(s.kind)}/${encodeURIComponent(s.id)}`}, s.title || s.id)),
      h("td", {class: "num"}, num(s.count)), h("td", {}, time(s.last_seen)), h("td", {class: "task"}, taskCell(s))))))
    : h("p", {class: "empty"}, "Nothing open and unacked.");
  show(h("h2", {}, "On duty"),
    h("div", {class: "cards"}, who,
      healthCard("IRC", d.irc, conn ? h("p", {class: "small"}, conn.connected ? `${conn.nick} on ${conn.server}, in ${(conn.channels || []).join(" ")}; ${conn.pending} queued` : "disconnected") : null),
      healthCard("Filer", d.filer)),
    h("h3", {}, "Open, unacked findings"), unacked,
    h("h3", {}, "Subsystems"),
    h("table", {class: "list"}, h("thead", {}, h("tr", {}, ["subsystem", "state", "since", "detail"].map(c => h("th", {scope: "col"}, c)))),
      h("tbody", {}, d.subsystems.map(s => h("tr", {}, h("td", {}, s.name), h("td", {}, h("span", {class: "badge st-" + s.state}, s.state)),
        h("td", {}, time(s.since)), h("td", {}, s.detail || ""))))));
}

async function render() {
  refreshHealth();
  const r = route();
  for (const a of document.querySelectorAll("nav a")) {
    const cur = a.dataset.view === r.view || (r.view === "signature" && a.dataset.view === "signatures");
    if (cur) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = "sheriff · " + ({signatures: "Signatures", signature: "Signature", puppet: "Puppet", drift: "Drift", duty: "On duty"}[r.view] || "");
  try {
    switch (r.view) {
      case "signature": await signatureView(r.args[0], r.args.slice(1).join("/")); break;
      case "puppet": await puppetView(r.params); break;
      case "drift": await driftView(); break;
      case "duty": await dutyView(r.params); break;
      default: await signaturesView(r.params);
    }
    main().dataset.view = r.view;
    main().dataset.ready = "1";
  } catch (err) {
    failure(err);
    main().dataset.ready = "1";
  }
}

async function refreshHealth() {
  try {
    const resp = await fetch("/healthz");
    const d = await resp.json();
    const el = document.getElementById("health");
    const bad = (d.subsystems || []).filter(s => s.state === "failing").map(s => s.name);
    el.textContent = d.healthy ? (bad.length ? "degraded: " + bad.join(", ") : "healthy") : "unhealthy: " + bad.join(", ");
    el.className = "pill " + (d.healthy ? (bad.length ? "warn" : "ok") : "bad");
  } catch (e) { /* shown on the next try */ }
}

// Keyboard: 1-4 views, "/" search, j/k rows, Esc back.
document.addEventListener("keydown", e => {
  const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName);
  if (e.key === "Escape") {
    if (typing) { e.target.blur(); return; }
    if (route().view === "signature") history.back();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const views = {"1": "signatures", "2": "puppet", "3": "drift", "4": "duty"};
  if (views[e.key]) { go(views[e.key]); return; }
  if (e.key === "/") {
    const s = document.getElementById("search");
    if (s) { e.preventDefault(); s.focus(); s.select(); }
    return;
  }
  if (e.key === "j" || e.key === "k") {
    const links = [...document.querySelectorAll("a.rowlink")];
    if (!links.length) return;
    const i = links.indexOf(document.activeElement);
    const next = e.key === "j" ? Math.min(links.length - 1, i + 1) : Math.max(0, i < 0 ? 0 : i - 1);
    links[next].focus();
    links[next].closest("tr").scrollIntoView({block: "nearest"});
    e.preventDefault();
  }
});

window.addEventListener("hashchange", () => { render(); });
window.addEventListener("DOMContentLoaded", () => {
  render();
  refreshHealth();
  setInterval(refreshHealth, 30000);
});
