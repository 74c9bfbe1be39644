// dashboard.js - held mail per class and hour as stacked-bar SVG charts (drawn here, no
// library), MTA queue sizes and ClamAV database age, and the daemons' own counters (from their
// /metrics endpoints), from GET /api/dashboard.
"use strict";

(() => {
  const {el, clear, api, setText} = Moat;
  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A "nice" upper bound for the y axis: 1, 2, 5, 10, 20, 50 ...
  function niceMax(value) {
    if (value <= 5) return 5;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  function label(date, weekly) {
    return weekly ? date.getUTCFullYear() + "-" + pad(date.getUTCMonth() + 1) + "-" + pad(date.getUTCDate())
                  : pad(date.getUTCHours()) + ":00";
  }

  function drawChart(container, data, classes, weekly) {
    const width = 1000, height = 260, left = 44, right = 10, top = 10, bottom = 34;
    const buckets = data.buckets;
    const totals = new Array(buckets).fill(0);
    for (const name of classes) data.series[name].forEach((n, i) => { totals[i] += n; });
    const max = niceMax(Math.max(0, ...totals));
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    const step = plotWidth / buckets;
    const barWidth = Math.max(1, step * (weekly ? 0.9 : 0.7));
    const chart = svg("svg", {viewBox: "0 0 " + width + " " + height, role: "img",
                              "aria-label": "held messages per hour by class", class: weekly ? "week" : "day"});
    for (let i = 0; i <= 4; i++) {
      const value = (max * i) / 4;
      const y = top + plotHeight - (plotHeight * i) / 4;
      chart.append(svg("line", {x1: left, x2: width - right, y1: y, y2: y, class: i ? "gridline" : "axis"}));
      chart.append(svg("text", {x: left - 6, y: y + 4, "text-anchor": "end"}, String(Math.round(value * 10) / 10)));
    }
    const start = data.start_us / 1000;
    for (let i = 0; i < buckets; i++) {
      const time = new Date(start + i * data.bucket_seconds * 1000);
      const x = left + i * step + (step - barWidth) / 2;
      let y = top + plotHeight;
      for (const name of classes) {
        const count = data.series[name][i];
        if (!count) continue;
        const h = (count / max) * plotHeight;
        y -= h;
        const bar = svg("rect", {x: x.toFixed(2), y: y.toFixed(2), width: barWidth.toFixed(2),
                                 height: h.toFixed(2), class: "bar fill-" + name, "data-class": name,
                                 "data-count": count});
        bar.append(svg("title", {}, name + " " + label(time, true) + " " + pad(time.getUTCHours()) +
                                    ":00 UTC: " + count));
        chart.append(bar);
      }
      const every = weekly ? 24 : 3;
      if (time.getUTCHours() % every === 0) {
        chart.append(svg("line", {x1: x + barWidth / 2, x2: x + barWidth / 2, y1: top + plotHeight,
                                  y2: top + plotHeight + 4, class: "axis"}));
        chart.append(svg("text", {x: x + barWidth / 2, y: height - bottom + 18, "text-anchor": "middle"},
                         label(time, weekly)));
      }
    }
    clear(container).append(chart);
  }

  function sum(totals) { return Object.values(totals).reduce((a, b) => a + b, 0); }

  // "CLEAN 10, SPAM 2" for {CLEAN: 10, SPAM: 2}; zeros left out, "0" when nothing is left.
  function breakdown(counts) {
    const parts = Object.entries(counts || {}).filter(([, n]) => n).map(([k, n]) => (k || "-") + " " + n);
    return parts.length ? parts.join(", ") : "0";
  }

  // One daemon's card: a list of (name, value) rows, or why there is none.
  function showDaemon(prefix, metrics, rows) {
    const list = clear(document.getElementById(prefix + "-numbers"));
    if (metrics.error) {
      setText(prefix + "-note", "unavailable: " + metrics.error);
      return;
    }
    for (const [name, key, value] of rows(metrics)) {
      list.append(el("dt", {}, name), el("dd", {"data-metric": prefix + "." + key}, String(value)));
    }
    setText(prefix + "-note", metrics.url);
  }

  function filterdRows(m) {
    const stages = Object.entries(m.stages || {})
      .map(([stage, s]) => stage + " " + s.mean_ms.toFixed(1) + " ms").join(", ");
    return [
      ["messages", "messages_total", m.messages_total],
      ["by verdict", "messages", breakdown(m.messages)],
      ["actions", "actions", breakdown(m.actions)],
      ["quarantined", "quarantined", m.quarantined],
      ["reinjection failures", "reinjection_failures", breakdown(m.reinjection_failures)],
      ["refused when busy", "overload_refusals", breakdown(m.overload_refusals)],
      ["sessions open", "sessions_open", m.sessions_open],
      ["ClamAV signatures", "clamav.signatures", m.clamav.signatures],
      ["ClamAV database", "clamav.age_seconds",
       m.clamav.age_seconds >= 0 ? Moat.formatAge(m.clamav.age_seconds) + " old" : "unknown"],
      ["mean time per stage", "stages", stages || "-"],
    ];
  }

  function mtaRows(m) {
    const deliveries = Object.entries(m.deliveries || {})
      .map(([transport, s]) => transport + ": " + breakdown(s)).join("; ");
    return [
      ["connections", "connections", m.connections],
      ["accepted", "accepted", m.accepted],
      ["rejected", "rejects", breakdown(m.rejects)],
      ["queues", "queues", breakdown(m.queues)],
      ["deliveries", "deliveries", deliveries || "0"],
      ["deferred by class", "deferrals", breakdown(m.deferrals)],
      ["mean delivery delay", "delivery_delay",
       m.delivery_delay.count ? m.delivery_delay.mean_seconds.toFixed(2) + " s" : "-"],
    ];
  }

  document.addEventListener("DOMContentLoaded", async () => {
    await Moat.start();
    const {status, data} = await api("GET", "/api/dashboard");
    if (status !== 200) {
      const box = document.getElementById("load-error");
      box.textContent = (data && data.error) || "cannot load the dashboard";
      box.hidden = false;
      return;
    }
    drawChart(document.getElementById("chart-day"), data.day, data.classes, false);
    drawChart(document.getElementById("chart-week"), data.week, data.classes, true);
    setText("total-day", sum(data.day.totals));
    setText("total-week", sum(data.week.totals));
    const legend = clear(document.getElementById("legend"));
    for (const name of data.classes) {
      legend.append(el("span", {}, el("span", {class: "swatch fill-" + name}),
                       name + " (" + data.week.totals[name] + " this week)"));
    }
    const queues = clear(document.getElementById("queues"));
    if (data.queues.counts) {
      for (const [name, count] of Object.entries(data.queues.counts)) {
        queues.append(el("dt", {}, name), el("dd", {"data-queue": name}, count));
      }
      setText("queues-note", data.queues.directory);
    } else {
      setText("queues-note", "unavailable: " + data.queues.error + (data.queues.directory ? " (" + data.queues.directory + ")" : ""));
    }
    if (typeof data.clamav.age_seconds === "number") {
      const age = document.getElementById("clamav-age");
      age.textContent = Moat.formatAge(data.clamav.age_seconds) + " old";
      if (data.clamav.age_seconds > 2 * 86400) age.classList.add("stale");
      setText("clamav-note", data.clamav.newest_file + " updated " + Moat.formatTime(data.clamav.updated) + " UTC");
    } else {
      setText("clamav-age", "unknown");
      setText("clamav-note", data.clamav.error + " (" + data.clamav.directory + ")");
    }
    showDaemon("filterd", data.daemons.filterd, filterdRows);
    showDaemon("mta", data.daemons.mta, mtaRows);
    document.body.dataset.loaded = "dashboard";
  });
})();
