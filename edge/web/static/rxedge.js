// rxedge's page, live: one Server-Sent Events stream from the gateway. Shelf lights are drawn
// as they arrive; any other event makes each part of the page that shows it (data-live names
// the events, data-src where to fetch it) fetch itself again. Forms work without this script.
"use strict";
(function () {
  const MODES = { steady: "steady", slow_blink: "blinking slowly", fast_blink: "blinking fast" };
  const DEBOUNCE_MS = 150;

  function words(light) {
    if (!light.on) return "off";
    const said = light.colour + ", " + (MODES[light.mode] || light.mode);
    return light.number ? said + ", shows " + light.number : said;
  }

  function drawLights(message) {
    for (const light of message.slots) {
      const selector = '[data-slot="' + CSS.escape(light.slot) + '"]';
      for (const el of document.querySelectorAll(selector)) {
        const on = String(light.on);
        if (el.dataset.on === on && el.dataset.colour === light.colour &&
            el.dataset.mode === light.mode && el.dataset.number === String(light.number)) {
          continue; // unchanged: leave its blinking in step
        }
        el.dataset.on = on;
        el.dataset.colour = light.colour;
        el.dataset.mode = light.mode;
        el.dataset.number = String(light.number);
        const number = el.querySelector(".number");
        if (number) number.textContent = light.number ? String(light.number) : "";
        const said = el.querySelector(".words");
        if (said) said.textContent = words(light);
      }
    }
  }

  function refresh(part) {
    if (part.dataset.busy === "true") {
      part.dataset.again = "true";
      return;
    }
    part.dataset.busy = "true";
    fetch(part.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then((answer) => {
        if (answer.headers.get("x-rxedge-login") === "0") loggedOut();
        return answer.text().then((html) => {
          if (answer.ok) place(part, html);
          else notRefreshed(part, answer.status, html);
        });
      })
      .catch(() => { part.dataset.stale = "true"; })
      .finally(() => {
        part.dataset.busy = "false";
        if (part.dataset.again === "true") {
          part.dataset.again = "false";
          schedule(part);
        }
      });
  }

  // A part is not redrawn under a finger: while a pointer is down in it, and for HOLD_MS after
  // it went down, a redraw could put another row's button where the tap lands; nor while a
  // form in it is being sent (its button would come back enabled, with a new id); nor while
  // someone types in it: focus in it and a key, an input or a tap there within TYPING_MS (the
  // top bar says so meanwhile). A box merely left focused (the keyboard put away, the tablet
  // laid down) holds nothing. The newest answer waits (data-waiting) and is drawn once the tap,
  // the sending or the typing is over. A table scrolled sideways in its box keeps its place,
  // every field the person set keeps what they set, and the focused one the focus, as long as
  // the new drawing has the same form.
  const HOLD_MS = 700;
  const TYPING_MS = 5000;
  const waiting = new Map();
  function place(part, html) {
    waiting.set(part, html);
    part.dataset.waiting = "true";
    if (part.dataset.pointerDown === "true") return; // drawn when it is lifted
    if (part.querySelector("form[data-sent]")) return; // drawn when the sending is over
    const typing = typingLeft(part);
    if (typing > 0) part.dataset.held = "typing";
    else delete part.dataset.held;
    showLink();
    const left = Math.max(Number(part.dataset.heldUntil || 0) - Date.now(), typing);
    if (left > 0) {
      setTimeout(() => placeWaiting(part), left);
      return;
    }
    waiting.delete(part);
    delete part.dataset.waiting;
    const scrolled = [...part.querySelectorAll(".table-box")].map((box) => box.scrollLeft);
    const kept = keptIn(part);
    part.innerHTML = html;
    part.querySelectorAll(".table-box").forEach((box, at) => {
      if (scrolled[at]) box.scrollLeft = scrolled[at];
    });
    putBack(part, kept);
    showLink();
  }
  function placeWaiting(part) {
    if (waiting.has(part)) place(part, waiting.get(part));
  }
  function typingLeft(part) {
    const field = document.activeElement;
    if (!field || !part.contains(field) || !field.matches("input, select, textarea")) return 0;
    return Number(part.dataset.typedAt || 0) + TYPING_MS - Date.now();
  }

  // A field is known again in a new drawing by its form (its action and hidden fields but the
  // one-time ones: the same row's form) and its place in that form. A field the person set (its
  // value is not what the page drew) is carried into the new drawing itself, so its value, caret
  // and selection stay; it takes the new drawing's attributes (a new max, say).
  const ONE_TIME = new Set(["csrf", "form_id"]);
  function formKey(form) {
    const hidden = [...form.querySelectorAll("input[type=hidden]")]
      .filter((input) => !ONE_TIME.has(input.name))
      .map((input) => input.name + "=" + input.value);
    return [form.getAttribute("action"), ...hidden].join("&");
  }
  // Each form of a part by its key, and which of the forms with that key it is (two alarms of
  // one batch each draw its write-off form): a field's place is its form's and its own.
  function formsOf(part) {
    const forms = new Map();
    const seen = new Map();
    for (const form of part.querySelectorAll("form")) {
      const key = formKey(form);
      seen.set(key, (seen.get(key) || 0) + 1);
      forms.set(form, key + "@" + seen.get(key));
    }
    return forms;
  }
  function placeOf(field, forms) {
    if (!forms.has(field.form)) return null;
    return forms.get(field.form) + "#" + [...field.form.elements].indexOf(field);
  }
  function fieldsOf(part) {
    const fields = new Map();
    for (const [form, key] of formsOf(part)) {
      [...form.elements].forEach((field, at) => fields.set(key + "#" + at, field));
    }
    return fields;
  }
  const TICKED = new Set(["checkbox", "radio"]);
  function setByPerson(field) {
    if (TICKED.has(field.type)) return field.checked !== field.defaultChecked;
    return field.value !== field.defaultValue;
  }
  function keptIn(part) {
    const fields = [...part.querySelectorAll("input, textarea")].filter(setByPerson);
    const focused = document.activeElement;
    const forms = formsOf(part);
    return {
      fields: fields.map((field) => [placeOf(field, forms), field]),
      focused: focused && part.contains(focused) ? placeOf(focused, forms) : null,
    };
  }
  function putBack(part, kept) {
    const drawn = fieldsOf(part);
    for (const [at, field] of kept.fields) {
      if (drawn.has(at)) drawn.set(at, carry(field, drawn.get(at)));
    }
    if (drawn.has(kept.focused)) drawn.get(kept.focused).focus({ preventScroll: true });
  }
  // The new drawing's attributes, its value and checked too: on a field the person changed they
  // set only what it was drawn as (its default), against which a later change is judged.
  function carry(field, drawn) {
    for (const { name } of [...field.attributes]) {
      if (!drawn.hasAttribute(name)) field.removeAttribute(name);
    }
    for (const { name, value } of drawn.attributes) field.setAttribute(name, value);
    drawn.replaceWith(field);
    return field;
  }
  // Sent: what the person set is the form's now, forgotten by the next drawing.
  function forget(form) {
    for (const field of form.elements) {
      if (TICKED.has(field.type)) field.defaultChecked = field.checked;
      else if ("defaultValue" in field) field.defaultValue = field.value;
    }
  }

  function typed(event) {
    const part = event.target.closest && event.target.closest("[data-live]");
    if (part) part.dataset.typedAt = String(Date.now());
  }
  for (const kind of ["keydown", "input"]) {
    document.addEventListener(kind, typed, { capture: true, passive: true });
  }
  function pressed(event) {
    const part = event.target.closest && event.target.closest("[data-live]");
    if (!part) return;
    part.dataset.pointerDown = "true";
    part.dataset.heldUntil = String(Date.now() + HOLD_MS);
    part.dataset.typedAt = String(Date.now());
  }
  function lifted() {
    for (const part of document.querySelectorAll('[data-live][data-pointer-down="true"]')) {
      delete part.dataset.pointerDown;
      setTimeout(() => placeWaiting(part), 0); // after the click this tap makes
    }
  }
  for (const kind of ["pointerdown", "touchstart"]) {
    document.addEventListener(kind, pressed, { capture: true, passive: true });
  }
  // Not pointercancel: a browser sends it when a finger starts to swipe, still on the glass.
  for (const kind of ["pointerup", "touchend", "touchcancel"]) {
    window.addEventListener(kind, lifted, { capture: true, passive: true });
  }

  // The page answered with a problem (the ledger or the accounts file cannot be read): what it
  // said goes above the part, which stays as it was drawn, so nobody takes it for live.
  function notRefreshed(part, status, html) {
    part.dataset.stale = "true";
    const said = new DOMParser().parseFromString(html, "text/html").querySelector(".problem");
    let note = part.querySelector(":scope > .not-refreshed");
    if (!note) {
      note = document.createElement("p");
      note.className = "problem not-refreshed";
      note.setAttribute("role", "alert");
      part.prepend(note);
    }
    note.textContent = "Not up to date: " + (said ? said.textContent : "the page answered " + status);
  }

  // The login ended on the server (idle, or the account changed): the name and its Log out
  // give way to Log in, as a page loaded now would show.
  function loggedOut() {
    const who = document.getElementById("who");
    if (!who) return;
    const login = document.createElement("a");
    login.id = "login-link";
    login.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    login.textContent = "Log in";
    who.parentElement.replaceChildren(login);
  }
  // An idle login ends after data-idle-seconds without use (a refresh of the live parts is not
  // use): look again just after that, when nothing else has.
  const who = document.getElementById("who");
  if (who && who.dataset.idleSeconds) {
    setTimeout(() => nudge("*"), (Number(who.dataset.idleSeconds) + 1) * 1000);
  }

  const timers = new Map();
  function schedule(part) {
    if (timers.has(part)) return;
    timers.set(part, setTimeout(() => { timers.delete(part); refresh(part); }, DEBOUNCE_MS));
  }

  function nudge(kind) {
    for (const part of document.querySelectorAll("[data-live]")) {
      if (kind === "*" || part.dataset.live.split(" ").includes(kind)) schedule(part);
    }
  }

  document.addEventListener("focusout", (event) => {
    const part = event.target.closest && event.target.closest("[data-live]");
    if (!part) return;
    if (part.dataset.stale === "true") {
      part.dataset.stale = "false";
      schedule(part);
    }
    setTimeout(() => placeWaiting(part), 0); // once the focus has gone where it goes
  });

  // Live only while the stream is open, the page's broker link is up and the gateway online:
  // otherwise what the page shows is frozen, and it says so. The mark in the top bar holds one
  // short word in a box of fixed width, so the bar never reflows under a finger as the state
  // changes (on the tablet it has no room); why the page is not live is told in a strip at the
  // screen's foot, out of the layout, that a tap goes through.
  const link = document.getElementById("live-link");
  const reason = document.getElementById("live-reason");
  let streamOpen = false;
  let opening = true; // until the stream first opens or fails the mark stays as drawn ("…")
  let said = { broker: true, gateway: "online" }; // the stream's first event says how it is
  function showLink() {
    if (!link || opening) return;
    let state = "down";
    let text = "off";
    let why = "";
    if (!streamOpen) why = "reconnecting to the page";
    else if (!said.broker) why = "the page's broker link is down";
    else if (said.gateway !== "online") why = "gateway " + said.gateway;
    else if (document.querySelector("[data-live][data-held]")) {
      state = "held";
      text = "held";
    } else {
      state = "live";
      text = "live";
    }
    link.dataset.state = state;
    link.textContent = text;
    link.title = state === "held" ? "live, held while you type" : why && "not live: " + why;
    if (reason) {
      reason.textContent = why && "Not live: " + why + ". Lights and alarms shown are frozen.";
    }
  }

  // The browser retries a stream that broke by itself, but not one answered with an error (a
  // reverse proxy's 502 while the page restarts, the page's 503 while it holds as many streams
  // as it may): that one is opened again here, ever later.
  const RETRY_MS = [2000, 4000, 8000, 15000, 30000];
  let failures = 0;
  function listen() {
    const source = new EventSource("/events");
    source.addEventListener("open", () => {
      streamOpen = true;
      opening = false;
      showLink();
      failures = 0;
    });
    source.addEventListener("error", () => {
      streamOpen = false;
      opening = false;
      showLink();
      if (source.readyState !== EventSource.CLOSED) return; // the browser tries again itself
      setTimeout(listen, RETRY_MS[Math.min(failures, RETRY_MS.length - 1)]);
      failures += 1;
    });
    source.addEventListener("lights", (event) => drawLights(JSON.parse(event.data)));
    source.addEventListener("link", (event) => {
      const was = said;
      said = JSON.parse(event.data);
      showLink();
      if (said.broker && !was.broker) nudge("*"); // back after a break: what changed meanwhile
    });
    for (const kind of ["ledger", "alarm", "result", "status"]) {
      source.addEventListener(kind, () => nudge(kind));
    }
    // The nudges sent before this stream started, at every (re)connection: a page drawn before
    // one of them (a change as it opened, or while the stream was broken) missed it.
    source.addEventListener("generation", (event) => {
      if (JSON.parse(event.data).stamp !== document.body.dataset.drawnAfter) nudge("*");
    });
    // The site's day, at every (re)connection and at its midnight: a page drawn on another
    // (left open overnight, or a tablet woken after midnight) judges on the new day.
    source.addEventListener("day", (event) => {
      const today = JSON.parse(event.data).today;
      if (document.body.dataset.siteDay === today) return;
      document.body.dataset.siteDay = today;
      for (const el of document.querySelectorAll("[data-today]")) el.textContent = today;
      nudge("*");
    });
  }
  listen();

  // A form sent is not sent again by a second tap: its button stays disabled while the answer
  // comes, for SENT_MS at most (a sending that failed may be tried again; each form carries a
  // one-time id too, so the gateway carries a copy out only once).
  const SENT_MS = 10000;
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.sent === "true") {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented || form.method.toLowerCase() !== "post") return;
    form.dataset.sent = "true";
    forget(form);
    // After the browser has read the form: a disabled button's name and value are not sent.
    const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
    setTimeout(() => { for (const button of buttons) button.disabled = true; }, 0);
    setTimeout(() => {
      delete form.dataset.sent;
      for (const button of buttons) button.disabled = false;
      const part = form.closest("[data-live]");
      if (part) placeWaiting(part);
    }, SENT_MS);
  });
  // Back to a page kept in the browser's memory: its forms may be sent again (new ids come
  // with the next refresh; until then the gateway refuses a copy).
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    for (const form of document.querySelectorAll("form[data-sent]")) {
      delete form.dataset.sent;
      for (const button of form.querySelectorAll("button")) button.disabled = false;
    }
  });

  // The badge login page: wait (one request) for the tap, then go on logged in, or say why not.
  const badge = document.getElementById("badge-wait");
  if (badge) {
    const body = new URLSearchParams({ csrf: badge.dataset.csrf, next: badge.dataset.next });
    fetch(badge.dataset.src, { method: "POST", body, credentials: "same-origin" })
      .then((answer) => answer.json())
      .then((said) => {
        if (said.next) {
          window.location.assign(said.next);
          return;
        }
        badge.dataset.state = "refused";
        badge.querySelector(".tap").textContent = said.problem;
      })
      .catch(() => {
        badge.dataset.state = "refused";
        badge.querySelector(".tap").textContent = "the page could not be reached; ask again";
      });
  }
})();
