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
  // Whenever the socket opens, pages that show live state reload what they show: pushes
  // sent while it was down, or between the page's render and its first subscription (a
  // short import can finish in that gap), would otherwise never arrive.
  document.addEventListener("htmx:wsOpen", function () {
    document.body.dispatchEvent(new CustomEvent("callboard:resync", { bubbles: true }));
  });

  // How far behind the pushes are: each frame carries how long its oldest fragment waited
  // on the server (dashboard/consumers.py). A socket that is behind gets only the newest
  // state of each call, so what shows is right, but late: say so, and past LAG_RESYNC
  // reload what the page shows instead of trusting a backlog.
  var LAG_SHOW = 2, LAG_RESYNC = 20, lastResync = 0;
  document.addEventListener("htmx:wsAfterMessage", function () {
    var lagEl = document.getElementById("live-lag");
    var el = document.getElementById("ws-status");
    if (!lagEl || !el || el.dataset.state !== "connected") return;
    var lag = Number(lagEl.dataset.lag) || 0;
    var behind = lag >= LAG_SHOW;
    el.classList.toggle("ws-behind", behind);
    var label = el.querySelector(".ws-label");
    if (label) label.textContent = behind ? "Behind by " + Math.round(lag) + " s" : "Live";
    var now = Date.now();
    if ((lagEl.dataset.resync || lag >= LAG_RESYNC) && now - lastResync > 10000) {
      lastResync = now;
      document.body.dispatchEvent(new CustomEvent("callboard:resync", { bubbles: true }));
    }
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
  function reloadWhenDone() {
    var watcher = document.querySelector("[data-reload-when-done]");
    if (!watcher) return;
    // The swap replaced the element: look it up again rather than trust the event's target.
    var current = document.getElementById(watcher.dataset.reloadWhenDone);
    var pill = current && current.querySelector(".pill");
    if (pill && /nl-(imported|failed)/.test(pill.className)) window.location.reload();
  }
  document.addEventListener("htmx:oobAfterSwap", reloadWhenDone);
  document.addEventListener("htmx:afterSettle", reloadWhenDone);

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

  // --- The live wall ------------------------------------------------------------------
  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }
  function ageLabel(seconds) {  // as selectors_wall.age_label says it
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h";
  }
  // Accounts whose call list has not confirmed their calls lately (_freshness.html). The
  // server says when each was last confirmed and for how long that holds; this clock goes
  // on judging between pushes, since with no reconcile running no push comes to say so.
  // Returns account id -> {stale, confirmed (ms, the server's clock)}.
  function markFreshness(now) {
    var accounts = {};
    var box = document.getElementById("live-freshness");
    if (box && box.dataset.now) {
      // Ages on the server's clock: a browser a minute off must not mark every card.
      if (box.dataset.offset === undefined) box.dataset.offset = String(Date.parse(box.dataset.now) - now);
      var serverNow = now + Number(box.dataset.offset);
      var limit = Number(box.dataset.staleAfter) * 1000;
      var anyStale = false;
      box.querySelectorAll(".lf[data-account]").forEach(function (el) {
        var confirmed = el.dataset.confirmed ? Date.parse(el.dataset.confirmed) : NaN;
        var stale = isNaN(confirmed) || serverNow - confirmed > limit;
        accounts[el.dataset.account] = { stale: stale, confirmed: confirmed, age: (serverNow - confirmed) / 1000 };
        anyStale = anyStale || stale;
        el.hidden = !stale;
        el.classList.toggle("is-stale", stale);
        var age = el.querySelector(".lf-age");
        if (age) age.textContent = isNaN(confirmed) ? "never checked" : "stale " + ageLabel((serverNow - confirmed) / 1000);
      });
      box.classList.toggle("has-stale", anyStale);
    }
    document.querySelectorAll(".call-card[data-account], .fresh[data-account]").forEach(function (el) {
      var account = accounts[el.dataset.account];
      var stale = Boolean(account && account.stale) && el.dataset.state !== "ended";
      el.classList.toggle("is-stale", stale);
      var note = el.querySelector(".call-unconfirmed");
      if (!note) return;
      note.hidden = !stale;
      var ago = stale && note.querySelector(".confirmed-ago");
      if (ago) ago.textContent = isNaN(account.confirmed) ? "never checked" : "last confirmed " + ageLabel(account.age) + " ago";
    });
    return accounts;
  }
  function tick() {
    var now = Date.now();
    var accounts = markFreshness(now);
    document.querySelectorAll(".tick[data-since]").forEach(function (el) {
      if (!el.dataset.since) { el.textContent = ""; return; }
      var since = Date.parse(el.dataset.since);
      var end = el.dataset.until ? Date.parse(el.dataset.until) : now;
      var unconfirmed = !el.dataset.until && el.closest(".call-card.is-stale");
      if (unconfirmed) {
        // Stopped where the provider's list last saw the call; unknown if it never did.
        var confirmed = (accounts[unconfirmed.dataset.account] || {}).confirmed;
        if (!(confirmed >= since)) { el.textContent = "–:––"; return; }
        end = confirmed;
      }
      el.textContent = fmt((end - since) / 1000);
    });
    document.querySelectorAll(".ago[data-since]").forEach(function (el) {
      if (!el.dataset.since) return;
      var s = (now - Date.parse(el.dataset.since)) / 1000;
      el.textContent = s < 60 ? Math.floor(s) + " s ago" : Math.floor(s / 60) + " min ago";
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);

  function matchesFilters(card, wall) {
    var f = wall.dataset;
    if (f.filterDirection && card.dataset.direction !== f.filterDirection) return false;
    if (f.filterVnumber && card.dataset.vnumber !== f.filterVnumber) return false;
    if (f.filterAgent && (" " + card.dataset.agent + " ").indexOf(" " + f.filterAgent + " ") === -1) return false;
    if (f.filterTag && ("|" + card.dataset.tags + "|").indexOf("|" + f.filterTag + "|") === -1) return false;
    return true;
  }
  function recount() {
    var wall = document.getElementById("wall-cards");
    // While later windows are still arriving the page holds only part of the wall: the
    // server's counts stand until it is whole.
    if (!wall || document.getElementById("wall-more")) return;
    var counts = { active: 0, talking: 0, on_hold: 0, ringing: 0 };
    wall.querySelectorAll(".call-card").forEach(function (card) {
      if (card.dataset.state === "ended") return;
      counts.active++;
      var s = card.dataset.state;
      if (s === "talking" || s === "consulting") counts.talking++;
      else if (s === "on_hold") counts.on_hold++;
      else if (s === "ringing" || s === "queued") counts.ringing++;
    });
    Object.keys(counts).forEach(function (k) {
      var el = document.querySelector('#wall-counts [data-count="' + k + '"]');
      if (el) el.textContent = counts[k];
    });
    var empty = document.getElementById("wall-empty");
    if (empty) empty.hidden = counts.active > 0;
  }
  // Someone typing in a call card (a keypad, a consult number) or with one of its menus
  // open keeps it: the swap is skipped and the next push brings the card up to date.
  // An open Controls panel alone does not: the card is swapped and the panel reopened
  // (and reloaded, so its buttons follow the new state).
  var reopenControls = [];
  document.addEventListener("htmx:oobBeforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || !target.classList || !target.classList.contains("call-card")) return;
    var active = document.activeElement;
    var typing = active && target.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    if (typing || target.querySelector("details[open]:not(.ca-controls)")) { e.detail.shouldSwap = false; return; }
    var controls = target.querySelector("details.ca-controls[open]");
    // On a call's own page the panel is always open, whatever card the push brings.
    if (controls || target.closest(".single")) reopenControls.push("controls-" + target.id.replace("session-", ""));
  });
  function reopenPendingControls() {
    var ids = reopenControls; reopenControls = [];
    ids.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;  // the toggle below loads it
    });
  }
  // A Controls panel loads when it opens ("toggle" does not bubble: listen in capture).
  document.addEventListener("toggle", function (e) {
    var details = e.target;
    if (!details.classList || !details.classList.contains("ca-controls") || !details.open) return;
    var body = details.querySelector(":scope > .ca-controls-body");
    if (!body || body.dataset.loading) return;
    body.dataset.loading = "1";
    htmx.ajax("GET", body.dataset.src, { source: body, target: body, swap: "outerHTML" }).then(function () {
      if (body.isConnected) delete body.dataset.loading;  // refused or failed: the next open tries again
    });
  }, true);
  // A pushed card for a call the page does not show yet has no target: place it.
  // Pushed cards of calls whose window has not arrived yet: what they said, so that a
  // window rendered earlier cannot bring back an older card (or an ended call).
  var pushedSeq = {};
  var pushedEnded = {};
  document.addEventListener("htmx:oobErrorNoTarget", function (e) {
    var card = e.detail && e.detail.content;
    var wall = document.getElementById("wall-cards");
    if (!card || !wall || !card.classList || !card.classList.contains("call-card")) return;
    pushedSeq[card.id] = Math.max(pushedSeq[card.id] || 0, Number(card.dataset.seq) || 0);
    if (card.dataset.state === "ended") pushedEnded[card.id] = true;
    if (card.dataset.state === "ended" || !matchesFilters(card, wall)) return;
    card.removeAttribute("hx-swap-oob");
    card.dataset.pushed = "1";
    wall.appendChild(card);
    htmx.process(card);
    tick(); recount();
  });
  // Cards swapped in place: ended calls leave the wall after a moment; filters still apply.
  document.addEventListener("htmx:oobAfterSwap", function () {
    reopenPendingControls();
    var wall = document.getElementById("wall-cards");
    if (!wall || wall.classList.contains("single")) { tick(); return; }
    wall.querySelectorAll(".call-card").forEach(function (card) {
      if (!matchesFilters(card, wall)) card.remove();
      else if (card.dataset.state === "ended" && !card.dataset.leaving) {
        card.dataset.leaving = "1";
        card.classList.add("leaving");
        setTimeout(function () { card.remove(); recount(); }, 4000);
      }
    });
    tick(); recount();
  });
  // A card pushed before its window arrived is in the page twice: keep the newer (on a tie,
  // the pushed one); a window's card of a call the pushes already ended goes.
  function dedupeCards() {
    var wall = document.getElementById("wall-cards");
    if (!wall || wall.classList.contains("single")) return;
    var seen = {};
    wall.querySelectorAll(".call-card").forEach(function (card) {
      if (pushedEnded[card.id] && card.dataset.state !== "ended") { card.remove(); return; }
      if ((pushedSeq[card.id] || 0) > Number(card.dataset.seq) && !card.dataset.pushed) { card.remove(); return; }
      var kept = seen[card.id];
      if (!kept) { seen[card.id] = card; return; }
      var keepNew = Number(card.dataset.seq) > Number(kept.dataset.seq) ||
        (card.dataset.seq === kept.dataset.seq && card.dataset.pushed && !kept.dataset.pushed);
      if (keepNew) { kept.remove(); seen[card.id] = card; } else card.remove();
    });
  }
  // htmx fires afterSwap once per inserted element (200 per window): do the work once a frame.
  var wallFixPending = false;
  function scheduleWallFix() {
    if (wallFixPending) return;
    wallFixPending = true;
    requestAnimationFrame(function () { wallFixPending = false; dedupeCards(); tick(); recount(); });
  }
  document.addEventListener("htmx:afterSwap", scheduleWallFix);
  document.addEventListener("htmx:afterRequest", scheduleWallFix);

  window.Callboard = { toast: toast, setSocketState: setSocketState };
})();
