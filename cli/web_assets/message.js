// message.js - one held message: summary, why it was held (decision trace), parts and
// attachments, body as text, headers, history; release, delete, download.
"use strict";

(() => {
  const {el, clear, api, setText} = Moat;
  const id = new URLSearchParams(location.search).get("id") || "";

  function summaryRow(list, label, value) {
    list.append(el("dt", {}, label), el("dd", {}, value === undefined || value === null ? "" : value));
  }

  function renderSummary(entry) {
    const list = clear(document.getElementById("summary"));
    summaryRow(list, "Quarantine ID", entry.id);
    summaryRow(list, "Held at (UTC)", Moat.formatTime(entry.time));
    summaryRow(list, "Class", entry.subclass ? entry.class + "/" + entry.subclass : entry.class);
    summaryRow(list, "Score", Moat.formatScore(entry.score));
    summaryRow(list, "Envelope sender", entry.sender === "" ? "<>" : entry.sender);
    summaryRow(list, "Recipients", (entry.recipients || []).join(", "));
    summaryRow(list, "From", entry.from);
    summaryRow(list, "Message-ID", entry.message_id);
    summaryRow(list, "Size", Moat.formatSize(entry.size));
    summaryRow(list, "Client address", entry.client_address);
    summaryRow(list, "Policy bank", entry.policy_bank);
    summaryRow(list, "State", entry.state + (entry.damage ? " — damaged: " + entry.damage : ""));
  }

  function cell(value) {
    if (value === undefined || value === null) return el("td", {}, "");
    if (typeof value === "object") return el("td", {}, JSON.stringify(value));
    return el("td", {}, String(value));
  }

  // The decision trace as `moat scan --json` writes it; any part of it may be missing.
  function renderTrace(entry) {
    setText("reason", entry.reason || "(no reason recorded)");
    const trace = entry.trace;
    const overview = clear(document.getElementById("trace-overview"));
    const findings = document.getElementById("findings");
    const dkim = document.getElementById("dkim");
    const rawBox = document.getElementById("trace-raw-box");
    if (trace === undefined || trace === null) {
      document.getElementById("no-trace").hidden = false;
      return;
    }
    rawBox.hidden = false;
    setText("trace-raw", typeof trace === "string" ? trace : JSON.stringify(trace, null, 2));
    if (typeof trace !== "object" || Array.isArray(trace)) return;
    for (const [label, key] of [["Verdict", "verdict"], ["Score", "score"], ["Policy bank", "policy_bank"]]) {
      if (trace[key] !== undefined) overview.append(el("span", {}, el("strong", {}, label + ": "), String(trace[key])));
    }
    if (Array.isArray(trace.findings) && trace.findings.length) {
      const body = clear(findings.tBodies[0]);
      for (const f of trace.findings) {
        if (!f || typeof f !== "object") continue;
        body.append(el("tr", {class: "finding"}, cell(f.stage), cell(f.name), cell(f.class),
                       el("td", {class: "num"}, typeof f.score === "number" ? f.score.toFixed(2) : ""),
                       cell(f.part), cell(f.detail)));
      }
      findings.hidden = false;
    }
    if (Array.isArray(trace.dkim) && trace.dkim.length) {
      const body = clear(dkim.tBodies[0]);
      for (const d of trace.dkim) {
        if (!d || typeof d !== "object") continue;
        body.append(el("tr", {}, cell(d.domain), cell(d.selector), cell(d.algorithm), cell(d.result)));
      }
      dkim.hidden = false;
    }
  }

  function renderParts(view) {
    const body = clear(document.getElementById("parts").tBodies[0]);
    for (const part of view.parts || []) {
      const notes = [];
      if (part.encrypted) notes.push(el("span", {class: "flag"}, "encrypted"));
      if (part.truncated) notes.push(el("span", {class: "flag"}, "truncated"));
      if (part.container_format) notes.push(el("span", {class: "muted"}, part.container_format));
      const depth = Math.min(6, Number(part.depth) || 0);
      body.append(el("tr", {class: "part"},
        el("td", {class: "path indent-" + depth}, part.path === "" ? "message" : part.path),
        cell(part.name), cell(part.declared_type), cell(part.detected_type),
        el("td", {class: "num"}, Moat.formatSize(part.size)), el("td", {}, notes)));
    }
    const limits = clear(document.getElementById("limits"));
    for (const event of view.limit_events || []) {
      limits.append(el("li", {}, "Limit " + event.limit + " at " + (event.path || "message") + ": " + event.detail));
    }
    for (const anomaly of view.anomalies || []) {
      limits.append(el("li", {}, anomaly.kind + " at " + (anomaly.path || "message") + ": " + anomaly.detail));
    }
  }

  function renderBody(view) {
    const box = clear(document.getElementById("body"));
    const parts = view.body || [];
    if (!parts.length) box.append(el("p", {class: "muted"}, "No text part."));
    for (const part of parts) {
      const title = "Part " + part.path + " · " + part.content_type +
                    (part.charset ? " · " + part.charset : "") +
                    (part.name ? " · " + part.name : "") + (part.attachment ? " · attachment" : "") +
                    (part.truncated ? " · cut short" : "");
      const section = el("div", {class: "body-part"}, el("h3", {}, title),
                         el("pre", {class: "body"}, part.text));
      if (part.source) {
        const source = el("pre", {class: "code source", hidden: true}, part.source);
        const toggle = el("button", {type: "button", class: "show-source"}, "Show HTML source (as text)");
        toggle.addEventListener("click", () => {
          source.hidden = !source.hidden;
          toggle.textContent = source.hidden ? "Show HTML source (as text)" : "Hide HTML source";
        });
        section.append(toggle, source);
      }
      box.append(section);
    }
  }

  function renderHeaders(view) {
    const body = clear(document.getElementById("headers").tBodies[0]);
    for (const header of view.headers || []) {
      body.append(el("tr", {}, el("th", {}, header.name), el("td", {}, header.value)));
    }
    if (view.headers_truncated) body.append(el("tr", {}, el("td", {colspan: 2}, "… more headers not shown")));
  }

  function renderHistory(entry) {
    const list = clear(document.getElementById("history"));
    const events = entry.history || [];
    if (!events.length) list.append(el("li", {class: "muted"}, "No action yet."));
    for (const event of events) {
      let text = Moat.formatTime(event.time) + " — " + event.kind + " by " + event.actor;
      if (event.recipients && event.recipients.length) text += " to " + event.recipients.join(", ");
      if (event.detail) text += " (" + event.detail + ")";
      list.append(el("li", {class: "event"}, text));
    }
  }

  function renderActions(entry) {
    const user = Moat.user();
    const held = entry.state !== "deleted";
    const release = document.getElementById("release");
    const releaseTo = document.getElementById("release-to");
    release.textContent = entry.state === "released" ? "Release again to original recipients"
                                                     : "Release to original recipients";
    release.disabled = !entry.can_release;
    releaseTo.disabled = !entry.can_release;
    document.getElementById("delete").disabled = !held;
    const download = document.getElementById("download");
    download.hidden = !held || !!entry.damage;
    download.setAttribute("href", Moat.entryApi(entry.id) + "/raw");
    let note = "";
    if (!entry.can_release && held && user && user.role === "reviewer" && entry.class === "VIRUS") {
      note = "Reviewers cannot release VIRUS mail; ask an admin.";
    }
    setText("action-note", note);
  }

  async function doRelease(entry, to) {
    const again = entry.state === "released";
    const target = to ? to : (entry.recipients || []).join(", ");
    const ok = await Moat.confirmAction(
        (again ? "Release AGAIN " : "Release ") + (entry.class === "VIRUS" ? "this VIRUS message" : "this message") +
        " to " + target + "?", [entry.id + "  " + (entry.subject || "")]);
    if (!ok) return;
    Moat.status("Releasing…");
    const request = {force: again};
    if (to) request.to = [to];
    const {status, data} = await api("POST", Moat.entryApi(entry.id) + "/release", request);
    if (status === 200) {
      let text = "Released to " + data.accepted.join(", ");
      for (const r of data.rejected || []) text += "\nRefused for " + r.address + ": " + r.reply;
      Moat.status(text, true);
    } else {
      Moat.status("Release failed: " + (data.error || status), false);
    }
    await load(false);
  }

  async function doDelete(entry) {
    if (!(await Moat.confirmAction("Delete this message? This cannot be undone.",
                                   [entry.id + "  " + (entry.subject || "")]))) return;
    const {status, data} = await api("POST", Moat.entryApi(entry.id) + "/delete");
    Moat.status(status === 200 ? "Deleted." : "Delete failed: " + (data.error || status), status === 200);
    await load(false);
  }

  let current = null;

  async function load(first) {
    const {status, data} = await api("GET", Moat.entryApi(id));
    if (status !== 200) {
      const box = document.getElementById("load-error");
      box.textContent = (data && data.error) || "cannot load the message (" + status + ")";
      box.hidden = false;
      document.getElementById("message").hidden = true;
      return;
    }
    current = data;
    document.title = (data.subject || "(no subject)") + " · Moat";
    setText("subject", data.subject === "" ? "(no subject)" : data.subject);
    const badge = document.getElementById("class-badge");
    badge.replaceWith(Object.assign(Moat.classBadge(data.class, data.subclass), {id: "class-badge"}));
    setText("state-badge", data.state);
    renderSummary(data);
    renderActions(data);
    renderHistory(data);
    if (first) {
      renderTrace(data);
      const viewError = document.getElementById("view-error");
      if (data.view) {
        renderParts(data.view);
        renderBody(data.view);
        renderHeaders(data.view);
      } else {
        viewError.textContent = data.view_error || "the message cannot be shown";
        viewError.hidden = false;
      }
    }
    document.getElementById("message").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await Moat.start();
    document.getElementById("release").addEventListener("click", () => doRelease(current, ""));
    document.getElementById("release-to").addEventListener("click", () => {
      const input = document.getElementById("release-address");
      if (!input.value.trim() || !input.checkValidity()) {
        Moat.status("Enter the address to release to.", false);
        return;
      }
      doRelease(current, input.value.trim());
    });
    document.getElementById("delete").addEventListener("click", () => doDelete(current));
    await load(true);
    document.body.dataset.loaded = "message";
  });
})();
