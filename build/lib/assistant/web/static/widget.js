/* Espoo Sustainability Assistant widget. One tag adds a chat button to any page:
     <script src="https://HOST/widget.js" data-lang="fi" data-title="…" data-greeting="…"
             data-accent="#0050a0" data-position="bottom-right" data-open="false" defer></script>
   The button opens a panel with an iframe of HOST/embed?lang=… (the chat). data-lang is fi, sv
   or en (default: the page's <html lang>, else en); the widget's own few messages come from
   HOST/i18n/<lang>.json, the catalogue of the whole app. No dependencies, no CDN. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__espooAssistantWidget) return;
  window.__espooAssistantWidget = true;
  var base = new URL(script.src, location.href).origin;
  var data = script.dataset;
  var lang = (data.lang || document.documentElement.lang || "").slice(0, 2).toLowerCase();
  if (!/^(fi|sv|en)$/.test(lang)) lang = "en";
  var catalogue = {};
  function t(message, values) { // the message in the widget's language, {name}s filled in
    var text = Object.prototype.hasOwnProperty.call(catalogue, message) ? catalogue[message] : message;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  var position = /^(bottom|top)-(left|right)$/.test(data.position || "") ? data.position : "bottom-right";
  var accent = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data.accent || "") ? data.accent : "#0050a0";
  var vertical = position.split("-")[0], side = position.split("-")[1];

  function luminance(hex) {
    var h = hex.length === 4 ? hex.replace(/([0-9a-f])/gi, "$1$1").slice(1) : hex.slice(1);
    return [0, 2, 4].reduce(function (sum, i, k) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      c = c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      return sum + c * [0.2126, 0.7152, 0.0722][k];
    }, 0);
  }
  var l = luminance(accent);
  var accentText = (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? "#000000" : "#ffffff";

  var css = [
    ":host { all: initial; }",
    ".launcher { position: fixed; " + vertical + ": 20px; " + side + ": 20px; z-index: 2147483000;",
    "  display: flex; align-items: center; gap: 8px; padding: 12px 18px; border: 2px solid #fff;",
    "  border-radius: 28px; background: " + accent + "; color: " + accentText + ";",
    "  font: 600 16px/1.2 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif;",
    "  cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    ".launcher:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }",
    ".launcher svg { width: 22px; height: 22px; fill: currentColor; }",
    ".panel { position: fixed; " + vertical + ": 84px; " + side + ": 20px; z-index: 2147483001;",
    "  width: min(400px, calc(100vw - 24px)); height: min(620px, calc(100vh - 110px));",
    "  display: flex; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.3); border: 1px solid #c5d3e3; }",
    ".panel[hidden] { display: none; }",
    ".panel iframe { flex: 1; width: 100%; border: 0; }",
    "@media (max-width: 480px) { .panel { " + side + ": 12px; width: calc(100vw - 24px); } }",
  ].join("\n");

  var title, host, button, panel, frame;
  function build() { // the button and the panel, once the messages are there
    title = (data.title || t("Espoo Sustainability Assistant")).slice(0, 80);
    host = document.createElement("div");
    host.setAttribute("data-espoo-assistant", "");
    host.lang = lang;
    var root = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);

    button = document.createElement("button");
    button.type = "button";
    button.className = "launcher";
    button.setAttribute("aria-label", t("Open chat: {title}", { title: title }));
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "esa-panel");
    var svgNS = "http://www.w3.org/2000/svg";
    var icon = document.createElementNS(svgNS, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    var path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    icon.appendChild(path);
    var label = document.createElement("span");
    label.textContent = data.label ? data.label.slice(0, 40) : t("Ask");
    button.appendChild(icon);
    button.appendChild(label);

    panel = document.createElement("div");
    panel.id = "esa-panel";
    panel.className = "panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);
    frame = document.createElement("iframe");
    frame.title = title;
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    panel.appendChild(frame);
    root.appendChild(button);
    root.appendChild(panel);
    button.addEventListener("click", function () { if (panel.hidden) open(); else shut(true); });
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) { event.stopPropagation(); shut(true); }
    });
  }

  function src() {
    var q = new URLSearchParams();
    q.set("lang", lang);
    q.set("title", title);
    if (data.greeting) q.set("greeting", data.greeting.slice(0, 500));
    q.set("accent", accent);
    return base + "/embed?" + q.toString();
  }

  var loaded = false;
  function focusChat() { // move focus into the chat's question box
    frame.focus();
    if (loaded) frame.contentWindow.postMessage({ type: "esa:focus" }, base);
  }

  function open() {
    if (!frame.src) {
      frame.addEventListener("load", function () { loaded = true; if (!panel.hidden) focusChat(); },
                             { once: true });
      frame.src = src();
    }
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-label", t("Close chat: {title}", { title: title }));
    focusChat();
  }

  function shut(returnFocus) {
    if (panel.hidden) return;
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", t("Open chat: {title}", { title: title }));
    if (returnFocus) button.focus();
  }

  window.addEventListener("message", function (event) {
    if (frame && event.origin === base && event.source === frame.contentWindow &&
        event.data && event.data.type === "esa:close") shut(true);
  });

  function mount() {
    build();
    document.body.appendChild(host);
    if (data.open === "true") open();
  }
  function ready() { if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount); }
  if (lang === "en") { ready(); return; }
  fetch(base + "/i18n/" + lang + ".json", { credentials: "omit" })
    .then(function (res) { return res.ok ? res.json() : {}; })
    .then(function (json) { catalogue = (json && json.messages) || {}; })
    .catch(function () { /* the English labels */ })
    .then(ready);
})();
