// login.js - the login form: POST /api/login as JSON, then on to the list (or ?next=).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("login-button");
    button.disabled = true;
    Moat.setText("login-error", "");
    const {status, data} = await Moat.api("POST", "/api/login", {
      user: document.getElementById("user").value,
      password: document.getElementById("password").value,
    });
    button.disabled = false;
    if (status === 200) {
      location.assign("/");
      return;
    }
    Moat.setText("login-error", (data && data.error) || "login failed");
    document.getElementById("password").select();
  });
});
