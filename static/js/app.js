// Callboard page glue: the live-socket indicator and dismissible toasts.
// htmx sends the CSRF token on every request through hx-headers on <body>.
(function () {
  "use strict";

  function setSocketState(state) {
    var el = document.getElementById("ws-status");
    if (!el) return;
    el.dataset.state = state;
    el.className = "ws-status ws-" + state;
    var label = el.querySelector(".ws-label");
    if (label) {
      label.textContent = state === "connected" ? "Live" : state === "reconnecting" ? "Reconnecting…" : "Connecting…";
    }
  }

  // The server's first frame swaps the indicator to "connected"; these cover the rest.
  document.addEventListener("htmx:wsClose", function () { setSocketState("reconnecting"); });
  document.addEventListener("htmx:wsError", function () { setSocketState("reconnecting"); });
  document.addEventListener("htmx:wsConnecting", function () {
    var el = document.getElementById("ws-status");
    if (el && el.dataset.state === "reconnecting") return;  // keep saying we lost it
    setSocketState("connecting");
  });
  document.addEventListener("htmx:wsOpen", function () {
    // Pages that show live state listen for this to resync what they missed.
    document.body.dispatchEvent(new CustomEvent("callboard:resync", { bubbles: true }));
  });

  // Provider errors and other notices raised by HTMX responses (HX-Trigger: {"toast": {...}}).
  function toast(level, text) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "toast toast-" + (level || "info");
    div.setAttribute("role", level === "error" ? "alert" : "status");
    div.textContent = text;
    var close = document.createElement("button");
    close.type = "button"; close.className = "toast-close"; close.setAttribute("aria-label", "Dismiss"); close.textContent = "×";
    div.appendChild(close);
    box.appendChild(div);
    if (level !== "error") setTimeout(function () { div.remove(); }, 6000);
  }
  document.addEventListener("toast", function (e) { toast(e.detail.level, e.detail.text); });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (xhr && !xhr.getResponseHeader("HX-Trigger")) {
      toast("error", xhr.status === 403 ? "You are not allowed to do that." : "The request failed (" + xhr.status + ").");
    }
  });
  document.addEventListener("htmx:sendError", function () { toast("error", "The dashboard did not answer. Check your connection."); });
  document.addEventListener("click", function (e) {
    if (e.target.classList && e.target.classList.contains("toast-close")) e.target.parentElement.remove();
  });
  // A page waiting on an import reloads once the pushed fragment says it is over, to show
  // the summary (the fragment itself is the compact one the campaign page uses).
  document.addEventListener("htmx:oobAfterSwap", function () {
    var watcher = document.querySelector("[data-reload-when-done]");
    if (!watcher) return;
    // The swap replaced the element: look it up again rather than trust the event's target.
    var current = document.getElementById(watcher.dataset.reloadWhenDone);
    var pill = current && current.querySelector(".pill");
    if (pill && /nl-(imported|failed)/.test(pill.className)) window.location.reload();
  });

  // When a campaign's counts are pushed, reload its jobs table too (at most every 3 s,
  // and never while the user has rows selected for cancelling).
  var jobsTimer = null;
  document.addEventListener("htmx:wsAfterMessage", function (e) {
    var msg = e.detail && e.detail.message;
    if (typeof msg !== "string" || msg.indexOf('id="campaign-counts"') === -1) return;
    if (jobsTimer) return;
    jobsTimer = setTimeout(function () {
      jobsTimer = null;
      var jobs = document.getElementById("jobs");
      if (!jobs || jobs.querySelector("input[name=job]:checked")) return;
      htmx.trigger(document.body, "jobs-changed");
    }, 3000);
  });

  window.Callboard = { toast: toast, setSocketState: setSocketState };
})();
