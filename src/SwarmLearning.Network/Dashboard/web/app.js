// The Swarm Learning dashboard: renders each snapshot the server pushes (server-sent events). Text goes in through
// textContent only: node and contract names come from the network.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svg(tag, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
}

const short = hash => hash ? hash.slice(0, 12) : "–";
const number = (value, digits = 4) => value === null || value === undefined ? "–" : Number(value).toFixed(digits);
const time = at => at ? new Date(at).toLocaleTimeString() : "–";

function duration(first, last) {
  if (!first || !last) return "–";
  const seconds = Math.max(0, (new Date(last) - new Date(first)) / 1000);
  return seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function renderNetwork(s) {
  document.getElementById("ledger-height").textContent = s.ledger.height >= 0 ? s.ledger.height : "–";
  document.getElementById("ledger-head").textContent = short(s.ledger.head);
  document.getElementById("ledger-verification").textContent = s.ledger.verification;
  document.getElementById("seats").textContent = !s.seats ? "no licence server given" : s.seats.problem ? s.seats.problem : `${s.seats.inUse} of ${s.seats.total} in use`;
  document.getElementById("operator").textContent = s.operator;
  document.getElementById("sns").replaceChildren(...s.sns.map(sn => el("li", { class: sn.id ? "" : "down", "data-sn": sn.api },
    el("div", { class: "name" }, sn.id || sn.api, ...(sn.isLeader ? [el("span", { class: "badge" }, "Raft leader")] : [])),
    el("div", { class: "detail" }, sn.id ? `${sn.api} · height ${sn.height}` : sn.status))));
  document.getElementById("problems").replaceChildren(...s.problems.map(p => el("li", {}, p)));
}

function renderComparison(contracts) {
  document.querySelector("#comparison tbody").replaceChildren(...contracts.map(c => el("tr", { "data-compare": c.name },
    el("th", { scope: "row" }, c.name), el("td", {}, c.status), el("td", {}, number(c.bestMetric)), el("td", {}, c.mergeCount),
    el("td", {}, duration(c.firstMerge, c.lastMerge)), el("td", {}, c.merge))));
}

function chart(target, nodes, key) {
  const series = nodes.map((n, i) => ({ id: n.id, colour: colours[i % colours.length], points: n.curve.filter(p => p[key] !== null && p[key] !== undefined && isFinite(p[key])) }));
  const all = series.flatMap(s => s.points);
  target.replaceChildren();
  target.setAttribute("aria-label", `${key} of each node by round`);
  if (all.length === 0) {
    const empty = svg("text", { x: 150, y: 60, "text-anchor": "middle" });
    empty.textContent = `no ${key} reported yet`;
    target.append(empty);
    return;
  }
  const rounds = all.map(p => p.round), values = all.map(p => p[key]);
  const [r0, r1] = [Math.min(...rounds), Math.max(...rounds, Math.min(...rounds) + 1)];
  const [v0, v1] = [Math.min(...values), Math.max(...values, Math.min(...values) + 1e-9)];
  const x = r => 30 + (r - r0) / (r1 - r0) * 260, y = v => 110 - (v - v0) / (v1 - v0) * 100;
  for (const [text, at] of [[number(v1, 3), 12], [number(v0, 3), 112]]) {
    const label = svg("text", { x: 2, y: at });
    label.textContent = text;
    target.append(label);
  }
  for (const s of series) {
    const line = svg("polyline", { stroke: s.colour, points: s.points.map(p => `${x(p.round).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ") });
    const title = svg("title");
    title.textContent = s.id;
    line.append(title);
    target.append(line);
    for (const p of s.points) target.append(svg("circle", { cx: x(p.round).toFixed(1), cy: y(p[key]).toFixed(1), r: 1.8, fill: s.colour }));
  }
}

const sections = new Map(); // contract name -> its section (names are free text: never part of an id)

function renderContract(c) {
  let section = sections.get(c.name);
  if (!section) {
    section = document.getElementById("tpl-contract").content.firstElementChild.cloneNode(true);
    section.dataset.contract = c.name;
    sections.set(c.name, section);
    document.getElementById("contracts").append(section);
  }
  section.querySelector(".contract-title").textContent = `${c.name} (${c.status.toLowerCase()})`;
  const facts = section.querySelector(".contract-facts");
  facts.replaceChildren(
    "round ", el("strong", { "data-contract-round": c.name }, c.round), ` · ${c.phase.toLowerCase()}`,
    c.leader ? ` · led by ${c.leader}` : "", ` · minPeers ${c.minPeers} · sync every ${c.syncFrequency} batches · merge ${c.merge}`,
    c.privacy ? ` · differential privacy: ${c.privacy}` : "",
    c.auditors ? ` · every merge recomputed by ${c.auditors} auditor${c.auditors > 1 ? "s" : ""}` : " · verification off",
    c.finalModel ? ` · final model ${short(c.finalModel)}` : "");
  section.querySelector(".nodes").replaceChildren(...c.nodes.map(n => el("li", { class: n.state.replace(/ /g, "-"), "data-node": n.id },
    el("div", { class: "name" }, n.id, ...(n.isLeader ? [el("span", { class: "badge" }, "leader")] : [])),
    el("div", { class: "detail" }, `${n.state} · round ${n.round ?? "–"} · last seen ${time(n.lastAlive)}`),
    ...(n.byzantine ? [el("div", { class: "detail byzantine-reason" }, n.byzantine)] : []),
    el("label", {}, `epochs ${n.epochsDone} of ${n.totalEpochs || "?"}`, el("progress", { max: Math.max(1, n.totalEpochs), value: n.epochsDone })),
    el("div", { class: "detail" }, `loss ${number(n.loss)} · metric ${number(n.metric)}`
      + (n.epsilon == null ? "" : ` · privacy spent ε ${number(n.epsilon)}`)))));
  chart(section.querySelector(".chart.loss"), c.nodes, "loss");
  chart(section.querySelector(".chart.metric"), c.nodes, "metric");
  section.querySelector(".merges tbody").replaceChildren(...c.merges.map(m => el("tr", { "data-merge-round": m.round },
    el("td", {}, m.round), el("td", {}, m.leader),
    el("td", {}, m.contributions + (m.excluded.length ? ` (left out: ${m.excluded.map(k => (m.unreachable || []).includes(k) ? `${k}, unreachable` : `${k}, invalid`).join("; ")})` : "")),
    el("td", { class: "hash", title: m.hash }, short(m.hash)), el("td", {}, time(m.at)),
    el("td", { class: "audit" }, m.auditedBy == null ? "being audited" : m.auditedBy.length ? `verified by ${m.auditedBy.join(", ")}` : "not audited"))));
}

function render(s) {
  renderNetwork(s);
  renderComparison(s.contracts);
  const names = new Set(s.contracts.map(c => c.name));
  for (const [name, section] of sections) {
    if (!names.has(name)) { section.remove(); sections.delete(name); }
  }
  for (const c of s.contracts) {
    try { renderContract(c); } catch (error) { console.error(`contract ${c.name}:`, error); } // one odd contract never stops the rest
  }
  document.getElementById("status").textContent = `live · updated ${time(s.at)}`;
}

function connect() {
  const events = new EventSource("/api/events?token=" + encodeURIComponent(token));
  events.onmessage = message => render(JSON.parse(message.data));
  events.onerror = () => { document.getElementById("status").textContent = "connection lost; reconnecting…"; };
}

connect();
