/* The Gradio chat's page script, put in the page's <head> by server.py (before Gradio starts).
   1. The page's language: ?lang=, else the browser's languages (what its Accept-Language header
      says), else English, as the server's i18n.negotiate picks it; the page-load handler then
      sets window.__esaLang to the server's choice. <html lang> follows it. Gradio labels its own
      controls (copy, like, ...) in navigator.language and sets <html lang> to that, so both are
      pointed at the page's language.
   2. Scrolling: while an answer streams in, the chat follows its end; when it is complete, the
      chat scrolls to its start, so the answer's first line is in view rather than its last source. */
(function () {
  "use strict";
  var SUPPORTED = ["fi", "sv", "en"];

  function pick() {
    var asked = (new URLSearchParams(location.search).get("lang") || "").slice(0, 2).toLowerCase();
    if (SUPPORTED.indexOf(asked) >= 0) return asked;
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var i = 0; i < langs.length; i++) {
      var base = String(langs[i]).slice(0, 2).toLowerCase();
      if (SUPPORTED.indexOf(base) >= 0) return base;
    }
    return "en";
  }

  window.__esaLang = pick();
  var root = document.documentElement;
  root.lang = window.__esaLang;
  try {
    Object.defineProperty(navigator, "language", {
      configurable: true,
      get: function () { return window.__esaLang; },
    });
  } catch (e) { /* Gradio's own labels stay in the browser's language */ }
  var restoring = 0;
  new MutationObserver(function () {
    // Put the page's language back once if Gradio changes it, never in a loop with it.
    if (root.lang !== window.__esaLang && restoring < 3) { restoring += 1; root.lang = window.__esaLang; }
  }).observe(root, { attributes: true, attributeFilter: ["lang"] });

  var shown = new WeakSet(), pending = false;

  function follow() {
    pending = false;
    var chat = document.getElementById("esa-chat");
    var log = chat && chat.querySelector("[role=log]");
    if (!log) return;
    var answers = log.querySelectorAll(".esa-answer");
    var last = answers[answers.length - 1];
    if (!last || shown.has(last)) return;
    if (last.classList.contains("esa-partial")) { log.scrollTop = log.scrollHeight; return; }
    shown.add(last);
    var start = last.closest(".message-row") || last;
    log.scrollTop += start.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    var top = start.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 48) window.scrollBy(0, top - 8);
  }

  function watch() {
    new MutationObserver(function () {
      if (!pending) { pending = true; requestAnimationFrame(follow); }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  }
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);
})();
