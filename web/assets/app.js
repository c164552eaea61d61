// Resource Reserver web app: what htmx does not do. Live updates from /ws, the theme toggle,
// the password rules shown as you type, offer countdowns, and the service worker.
"use strict";
(function () {
  var body = document.body;
  var csrf = body.dataset.csrf || "";

  function post(url, fields) {
    var data = new URLSearchParams(fields);
    data.set("csrf", csrf);
    return fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { "HX-Request": "true" } });
  }

  // Theme: follows the system until chosen; the choice is saved (account or cookie).
  function effectiveTheme() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen === "light" || chosen === "dark") return chosen;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.querySelectorAll("#theme-toggle").forEach(function (button) {
    function label() {
      var next = effectiveTheme() === "dark" ? "light" : "dark";
      button.setAttribute("aria-pressed", effectiveTheme() === "dark" ? "true" : "false");
      button.title = body.dataset["themeLabel" + (next === "dark" ? "Dark" : "Light")] || next;
    }
    label();
    button.addEventListener("click", function () {
      var next = effectiveTheme() === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      label();
      post("/theme", { theme: next });
    });
  });

  // Selects that submit their form when changed (language picker, filters).
  document.addEventListener("change", function (e) {
    var target = e.target;
    if (target.matches && target.matches("[data-autosubmit]") && target.form) target.form.requestSubmit();
  });

  // Password rules, checked as you type (the server checks them again).
  function checkRules(form) {
    var password = form.querySelector("input[name=password]");
    var username = form.querySelector("#username");
    if (!password) return;
    var value = password.value;
    var name = username ? username.value.trim().toLowerCase() : "";
    var passes = {
      min_length: Array.from(value).length >= 10,
      uppercase: /\p{Lu}/u.test(value),
      lowercase: /\p{Ll}/u.test(value),
      digit: /\p{N}/u.test(value),
      special: /[^\p{L}\p{N}\s\p{C}]/u.test(value),
      contains_username: value.length > 0 && (name === "" || value.toLowerCase().indexOf(name) < 0)
    };
    form.querySelectorAll("[data-rule]").forEach(function (li) {
      li.classList.toggle("ok", !!passes[li.dataset.rule]);
    });
  }
  document.querySelectorAll("form[data-password-rules]").forEach(function (form) {
    form.addEventListener("input", function () { checkRules(form); });
  });

  // Countdowns: <time data-countdown datetime="…"> shows the time left, updated every second.
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    });
  }
  tick();
  setInterval(tick, 1000);

  // Live updates: a socket on /ws with a short-lived token of this session. Elements with
  // data-live="<url>" are refreshed when an event concerns them (data-live-resource narrows it
  // to one resource); the bell counts unread notifications.
  var refreshTimer = null;
  var pending = {};
  var lastPosition = 0;
  function refresh(position, resourceId) {
    lastPosition = Math.max(lastPosition, position || 0);
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var only = el.dataset.liveResource;
      if (!only || !resourceId || only === resourceId) pending[el.id] = el;
    });
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      Object.keys(pending).forEach(function (id) {
        var el = pending[id];
        var url = el.dataset.live;
        url += (url.indexOf("?") < 0 ? "?" : "&") + "min_position=" + lastPosition;
        if (window.htmx) window.htmx.ajax("GET", url, { target: el, swap: "outerHTML" });
      });
      pending = {};
      updateBell();
    }, 150);
  }
  function updateBell() {
    var badge = document.getElementById("unread-count");
    if (!badge) return;
    fetch("/notifications/unread?min_position=" + lastPosition, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        badge.textContent = data.unread;
        badge.dataset.count = data.unread;
        badge.hidden = data.unread === 0;
      });
  }
  var backoff = 1000;
  function connect() {
    post("/live-token", {})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (grant) {
        var scheme = location.protocol === "https:" ? "wss://" : "ws://";
        var ws = new WebSocket(scheme + location.host + "/ws?token=" + encodeURIComponent(grant.token) +
          (lastPosition ? "&from_position=" + lastPosition : ""));
        ws.onopen = function () { backoff = 1000; body.dataset.liveState = "open"; };
        ws.onmessage = function (message) {
          var frame;
          try { frame = JSON.parse(message.data); } catch (e) { return; }
          if (!frame.position) return;
          var data = frame.data || {};
          refresh(frame.position, data.resource_id);
        };
        ws.onclose = function () {
          body.dataset.liveState = "closed";
          setTimeout(connect, backoff);
          backoff = Math.min(backoff * 2, 30000);
        };
      })
      .catch(function () { setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 30000); });
  }
  if (body.dataset.live === "on" && "WebSocket" in window) connect();

  // Focus moves to the first error after a failed form swap, so keyboard users land on it.
  document.addEventListener("htmx:afterSwap", function (e) {
    var error = e.detail.target.querySelector && e.detail.target.querySelector("[aria-invalid=true], .alert");
    if (error) error.focus ? error.focus() : null;
  });

  // Installable, with an offline page.
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () { navigator.serviceWorker.register("/sw.js"); });
  }
})();

// == copy buttons (reservations: the calendar feed URL) ==
// <button data-copy="input-id" data-copied="Copied." hidden>: shown where the clipboard is
// available; the URL stays in a readonly input (selected on focus) for everyone else.
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    input.addEventListener("focus", function () { input.select(); });
    if (!navigator.clipboard || !window.isSecureContext) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var status = document.querySelector("[data-copy-status]");
      navigator.clipboard.writeText(input.value).then(function () {
        if (status) status.textContent = button.dataset.copied || "";
      }, function () {
        input.focus();
        input.select();
      });
    });
  });
})();

// Filter panels start open on wide screens (on phones they stay folded under their summary).
(function () {
  if (window.matchMedia("(min-width: 860px)").matches) {
    document.querySelectorAll("details[data-open-when-wide]").forEach(function (d) { d.open = true; });
  }
})();
