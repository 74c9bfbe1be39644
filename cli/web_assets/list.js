// list.js - the quarantine list: filters in the page URL, one API query per page view,
// selection and bulk release/delete with confirmation.
"use strict";

(() => {
  const {el, clear, api} = Moat;
  const textFilters = ["sender", "rcpt", "subject", "min_score", "max_score"];
  let entries = [];

  // The page URL keeps what the operator chose; "until" there is the last day shown (inclusive).
  function pageParams() { return new URLSearchParams(location.search); }

  function nextDay(date) {
    const d = new Date(date + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  function apiQuery(params) {
    const query = new URLSearchParams();
    for (const value of params.getAll("class")) query.append("class", value);
    if (params.get("since")) query.set("since", params.get("since"));
    const until = params.get("until");
    if (until) query.set("until", /^\d{4}-\d{2}-\d{2}$/.test(until) ? nextDay(until) : until);
    for (const key of textFilters) if (params.get(key)) query.set(key, params.get(key));
    const state = params.get("state");
    if (state && state !== "visible") query.set("state", state);
    const sort = params.get("sort") || "time";
    query.set("sort", sort.startsWith("score") ? "score" : "time");
    query.set("order", sort.endsWith("-asc") ? "asc" : "desc");
    query.set("limit", params.get("limit") || "50");
    query.set("offset", params.get("offset") || "0");
    return query;
  }

  function fillForm(params) {
    const form = document.getElementById("filters");
    const chosen = params.getAll("class");
    for (const box of form.querySelectorAll("input[name=class]")) box.checked = chosen.includes(box.value);
    for (const key of ["since", "until", ...textFilters]) {
      const input = form.elements.namedItem(key);
      if (input) input.value = params.get(key) || "";
    }
    form.elements.namedItem("state").value = params.get("state") || "visible";
    form.elements.namedItem("sort").value = params.get("sort") || "time";
    form.elements.namedItem("limit").value = params.get("limit") || "50";
  }

  function formParams() {
    const form = document.getElementById("filters");
    const params = new URLSearchParams();
    for (const box of form.querySelectorAll("input[name=class]:checked")) params.append("class", box.value);
    for (const key of ["since", "until", ...textFilters]) {
      const value = form.elements.namedItem(key).value.trim();
      if (value) params.set(key, value);
    }
    for (const key of ["state", "sort", "limit"]) {
      const value = form.elements.namedItem(key).value;
      if (value && value !== {state: "visible", sort: "time", limit: "50"}[key]) params.set(key, value);
    }
    return params;
  }

  function go(params) { location.search = params.toString(); }

  function row(entry) {
    const recipients = entry.recipients || [];
    const checkbox = el("input", {type: "checkbox", class: "pick", "data-id": entry.id,
                                  "aria-label": "Select " + entry.id});
    checkbox.addEventListener("change", updateBulkButtons);
    const subject = entry.subject === "" ? "(no subject)" : entry.subject;
    return el("tr", {class: entry.state, "data-id": entry.id},
      el("td", {class: "check"}, checkbox),
      el("td", {class: "time"}, Moat.formatTime(entry.time)),
      el("td", {}, Moat.classBadge(entry.class, entry.subclass)),
      el("td", {class: "num"}, Moat.formatScore(entry.score)),
      el("td", {class: "addr"}, entry.sender === "" ? "<>" : entry.sender),
      el("td", {class: "addr"}, recipients.slice(0, 3).join(", ") +
                               (recipients.length > 3 ? " +" + (recipients.length - 3) : "")),
      el("td", {class: "subject-cell"},
         el("a", {href: Moat.messageUrl(entry.id), class: "open"}, subject)),
      el("td", {}, entry.state + (entry.damage ? " (damaged)" : "")));
  }

  function selectedIds() {
    return [...document.querySelectorAll("input.pick:checked")].map((box) => box.dataset.id);
  }

  function updateBulkButtons() {
    const count = selectedIds().length;
    document.getElementById("bulk-release").disabled = count === 0;
    document.getElementById("bulk-delete").disabled = count === 0;
  }

  async function bulk(action) {
    const ids = selectedIds();
    const byId = new Map(entries.map((e) => [e.id, e]));
    const lines = ids.map((id) => {
      const e = byId.get(id);
      return e ? id + "  " + e.class + "  " + (e.subject || "") : id;
    });
    const verb = action === "release" ? "Release" : "Delete";
    const text = verb + " " + ids.length + " message" + (ids.length === 1 ? "" : "s") +
                 (action === "release" ? " to their original recipients?" : "? This cannot be undone.");
    if (!(await Moat.confirmAction(text, lines))) return;
    Moat.status(verb + " in progress…");
    const {status, data} = await api("POST", "/api/quarantine/bulk", {action, ids});
    if (status !== 200) {
      Moat.status(verb + " failed: " + (data.error || status), false);
      return;
    }
    const failures = data.results.filter((r) => r.status !== 200)
                                 .map((r) => r.id + ": " + r.error);
    Moat.status((action === "release" ? "Released " : "Deleted ") + data.ok + ", failed " +
                data.failed + (failures.length ? "\n" + failures.join("\n") : ""),
                data.failed === 0);
    await load();
  }

  async function load() {
    const params = pageParams();
    const {status, data} = await api("GET", "/api/quarantine?" + apiQuery(params).toString());
    const rows = clear(document.getElementById("rows"));
    document.getElementById("select-all").checked = false;
    updateBulkButtons();
    if (status !== 200) {
      Moat.status("Search failed: " + (data.error || status), false);
      return;
    }
    entries = data.entries;
    for (const entry of entries) rows.append(row(entry));
    document.getElementById("empty").hidden = entries.length !== 0;
    const first = entries.length ? data.offset + 1 : 0;
    Moat.setText("summary", data.total + " message" + (data.total === 1 ? "" : "s") +
                 (entries.length ? " · showing " + first + "–" + (data.offset + entries.length) : ""));
    const pages = Math.max(1, Math.ceil(data.total / data.limit));
    const page = Math.floor(data.offset / data.limit) + 1;
    Moat.setText("page", "Page " + page + " of " + pages);
    const prev = document.getElementById("prev");
    const next = document.getElementById("next");
    prev.disabled = data.offset === 0;
    next.disabled = data.offset + data.limit >= data.total;
    prev.onclick = () => { params.set("offset", Math.max(0, data.offset - data.limit)); go(params); };
    next.onclick = () => { params.set("offset", data.offset + data.limit); go(params); };
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await Moat.start();
    fillForm(pageParams());
    document.getElementById("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      go(formParams());
    });
    document.getElementById("reset").addEventListener("click", () => go(new URLSearchParams()));
    document.getElementById("select-all").addEventListener("change", (event) => {
      for (const box of document.querySelectorAll("input.pick")) box.checked = event.target.checked;
      updateBulkButtons();
    });
    document.getElementById("bulk-release").addEventListener("click", () => bulk("release"));
    document.getElementById("bulk-delete").addEventListener("click", () => bulk("delete"));
    await load();
    document.body.dataset.loaded = "list";
  });
})();
