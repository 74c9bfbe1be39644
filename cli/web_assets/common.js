// common.js - what every page of the review shares: API calls with the CSRF token, building
// DOM nodes, formatting, the header, the confirmation dialog.
//
// Safety rule for every script here: text from a message (subjects, names, addresses, bodies,
// headers, trace details) only ever becomes a Text node (el() children, textContent). Nothing
// is ever assigned to innerHTML/outerHTML or passed to insertAdjacentHTML, document.write, eval
// or setAttribute of an event handler or style. URLs are built from quarantine IDs with
// encodeURIComponent.
"use strict";

const Moat = (() => {
  let csrfToken = "";
  let currentUser = null;

  // el("td", {class: "num"}, "text", childNode...): attribute values and text are set as data.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (/^on/i.test(name) || name === "style") throw new Error("refusing attribute " + name);
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text === null || text === undefined ? "" : String(text);
    return node;
  }

  // {status, data}; redirects to the login page when the session is gone.
  async function api(method, path, body) {
    const headers = {"Accept": "application/json"};
    const options = {method, headers, credentials: "same-origin", cache: "no-store"};
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrfToken;
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      return {status: 0, data: {error: "the server cannot be reached: " + error.message}};
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = {error: "unexpected answer (" + response.status + ")"};
    }
    if (response.status === 401 && path !== "/api/login") {
      location.assign("/login");
    }
    return {status: response.status, data};
  }

  // Loads the session (user, role, CSRF token) and fills the page header.
  async function start() {
    const {status, data} = await api("GET", "/api/session");
    if (status !== 200) {
      location.assign("/login");
      throw new Error("not logged in");
    }
    csrfToken = data.csrf_token;
    currentUser = {name: data.user, role: data.role};
    setText("who", data.user + " (" + data.role + ")");
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        await api("POST", "/api/logout");
        location.assign("/login");
      });
    }
    return currentUser;
  }

  function user() { return currentUser; }

  // "2026-11-21T08:01:17Z" -> "2026-11-21 08:01:17"
  function formatTime(iso) {
    return typeof iso === "string" ? iso.replace("T", " ").replace("Z", "") : "";
  }

  function formatSize(bytes) {
    if (typeof bytes !== "number") return "";
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
    return (bytes / 1024 / 1024).toFixed(1) + " MiB";
  }

  function formatScore(score) {
    return typeof score === "number" ? score.toFixed(1) : "–";
  }

  function formatAge(seconds) {
    if (typeof seconds !== "number") return "–";
    if (seconds < 3600) return Math.max(0, Math.round(seconds / 60)) + " min";
    if (seconds < 2 * 86400) return (seconds / 3600).toFixed(1) + " h";
    return (seconds / 86400).toFixed(1) + " days";
  }

  const classes = ["VIRUS", "BANNED", "UNCHECKED", "SPAM", "SPAMMY", "BAD-HEADER", "CLEAN"];

  function classBadge(name, subclass) {
    const known = classes.includes(name) ? name : "";
    return el("span", {class: "badge " + known}, subclass ? name + "/" + subclass : name);
  }

  function messageUrl(id) { return "/message?id=" + encodeURIComponent(id); }
  function entryApi(id) { return "/api/quarantine/" + encodeURIComponent(id); }

  // Shows the page's <dialog id="confirm-dialog">; resolves true when confirmed.
  function confirmAction(text, items) {
    const dialog = document.getElementById("confirm-dialog");
    setText("confirm-text", text);
    const list = clear(document.getElementById("confirm-list"));
    for (const item of (items || []).slice(0, 50)) list.append(el("li", {}, item));
    if (items && items.length > 50) list.append(el("li", {}, "… and " + (items.length - 50) + " more"));
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), {once: true});
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  function status(text, ok) {
    const node = setText("status", text);
    if (node) node.className = "status " + (ok === true ? "ok" : ok === false ? "fail" : "");
  }

  return {el, clear, setText, api, start, user, formatTime, formatSize, formatScore, formatAge,
          classes, classBadge, messageUrl, entryApi, confirmAction, status};
})();
