/* The Gradio chat's page script: server.py gives it to Gradio as the page's head, which Gradio adds
   once its config has loaded (before the page-load event).
   1. The page's language: ?lang=, else the browser's languages (what its Accept-Language header
      says), else English, as the server's i18n.negotiate picks it; then the server's choice,
      which the page-load handler writes into the header (data-lang, data-title, data-log,
      data-labels). <html lang>, the title and the conversation's accessible name follow it.
      Gradio labels its own controls (copy, like, ...) in the browser's language, and in English
      where it has no translation: they are relabelled from data-labels (and its messages'
      "bot's message: <html source>" labels, on elements without a role, are dropped).
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

  var lang = pick(), root = document.documentElement, restoring = 0;
  root.lang = lang;
  new MutationObserver(function () {
    // Put the page's language back if Gradio changes it, a few times, never in a loop with it.
    if (root.lang !== lang && restoring < 3) { restoring += 1; root.lang = lang; }
  }).observe(root, { attributes: true, attributeFilter: ["lang"] });

  function settle() { // the server's choice, once the page-load handler has relabelled the page
    var header = document.querySelector(".esa-header[data-lang]");
    if (!header || SUPPORTED.indexOf(header.dataset.lang) < 0) return;
    lang = header.dataset.lang;
    if (root.lang !== lang) root.lang = lang;
    var title = header.dataset.title;
    if (title && document.title !== title) document.title = title;
    var log = document.querySelector("#esa-chat [role=log]"), name = header.dataset.log;
    if (log && name && log.getAttribute("aria-label") !== name) log.setAttribute("aria-label", name);
    relabel(header.dataset.labels);
  }

  var labels = {}, labelsFrom = null;
  function relabel(json) {
    if (json !== labelsFrom) {
      labelsFrom = json;
      try { labels = JSON.parse(json || "{}"); } catch (e) { labels = {}; }
    }
    var nodes = document.querySelectorAll("#esa-chat [aria-label], #esa-chat [title]");
    Array.prototype.forEach.call(nodes, function (node) {
      ["aria-label", "title"].forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value === null) return;
        if (/^(user|bot)'s message: /.test(value)) node.removeAttribute(attribute);
        else if (Object.prototype.hasOwnProperty.call(labels, value) && labels[value] !== value) {
          node.setAttribute(attribute, labels[value]);
        }
      });
    });
  }

  var shown = new WeakSet(), pending = false;

  function follow() {
    pending = false;
    settle();
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
    }).observe(document.body, {
      childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ["aria-label", "title"],
    });
  }
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);
})();
