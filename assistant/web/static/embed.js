/* The embed page's chat. Plain JS, no dependencies. Everything from the server, the documents and
   the user is put in the page with textContent, never as HTML; links are http(s) only.
   Messages are English ids translated with t(message): the server puts the page's language in
   <html lang> and its catalogue (assistant/locales/<lang>.po) in the #esa-i18n JSON block. */
(function () {
  "use strict";
  var body = document.body;
  var MAX_CHARS = parseInt(body.getAttribute("data-max-question-chars"), 10) || 2000;
  var MAX_HISTORY = parseInt(body.getAttribute("data-max-history"), 10) || 20;
  var MAX_HISTORY_MESSAGE = 8000;
  var params = new URLSearchParams(location.search);
  var LANG = document.documentElement.lang || "en";
  var CATALOGUE = {};
  try { CATALOGUE = JSON.parse(document.getElementById("esa-i18n").textContent).messages || {}; } catch (e) { /* English */ }
  var $ = function (id) { return document.getElementById(id); };
  var log = $("esa-log"), form = $("esa-form"), input = $("esa-q"), send = $("esa-send");
  var announce = $("esa-announce"), greeting = $("esa-greeting");
  var history = [], busy = false, queued = false, answers = 0;
  var parentOrigin = "*";
  try { if (document.referrer) parentOrigin = new URL(document.referrer).origin; } catch (e) { /* keep */ }

  function t(message, values) { // the message in the page's language, {name}s filled in
    var text = Object.prototype.hasOwnProperty.call(CATALOGUE, message) ? CATALOGUE[message] : message;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function options() {
    if (params.get("title")) {
      $("esa-title").textContent = params.get("title");
      document.title = params.get("title");
    }
    if (params.get("greeting")) greeting.textContent = params.get("greeting");
    var accent = params.get("accent") || "";
    if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(accent)) {
      document.documentElement.style.setProperty("--accent", accent);
      document.documentElement.style.setProperty("--accent-text", readableOn(accent));
    }
    input.maxLength = MAX_CHARS;
  }

  function readableOn(hex) { // black or white text, whichever contrasts more (WCAG luminance)
    var h = hex.length === 4 ? hex.replace(/([0-9a-f])/gi, "$1$1").slice(1) : hex.slice(1);
    var lum = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? "#000000" : "#ffffff";
  }

  function safeUrl(url, page) {
    try {
      var u = new URL(String(url || ""));
      if (u.protocol !== "http:" && u.protocol !== "https:") return null;
      if (page && /\.pdf$/i.test(u.pathname) && !u.hash) u.hash = "page=" + parseInt(page, 10);
      return u.href;
    } catch (e) { return null; }
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function scrollToStart(node) { // the node's first line at the top of the conversation
    log.scrollTop += node.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  }

  function otherLanguage(node, code) { // a document's words in another language than the page's
    if (/^(en|fi|sv)$/.test(code || "") && code !== LANG) node.lang = code;
    return node;
  }

  function addMessage(cls, text) {
    var node = el("div", "msg " + cls, text);
    log.appendChild(node);
    scrollDown();
    return node;
  }

  function passage(text, quotes) { // the passage with each quoted sentence inside <mark>
    var node = el("blockquote", "passage"), spans = [], pos = 0;
    (quotes || []).forEach(function (q) {
      var at = q ? text.indexOf(q) : -1;
      if (at >= 0) spans.push([at, at + q.length]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; }).forEach(function (s) {
      if (s[0] < pos) return;
      node.appendChild(document.createTextNode(text.slice(pos, s[0])));
      node.appendChild(el("mark", "", text.slice(s[0], s[1])));
      pos = s[1];
    });
    node.appendChild(document.createTextNode(text.slice(pos)));
    return node;
  }

  function shortened(text) {
    var words = String(text || "").replace(/\s+/g, " ").trim();
    return words.length <= 200 ? words : words.slice(0, 200).replace(/\s+\S*$/, "") + " …";
  }

  function card(c, id) { // compact: title, date, the quoted sentences; the passage on demand
    var li = el("li", "card");
    li.id = id;
    li.tabIndex = -1;
    var title = el("p", "card-title");
    title.appendChild(el("span", "n", c.n));
    title.appendChild(otherLanguage(el("span", "", c.title || c.document || ""), c.language));
    li.appendChild(title);
    var meta = [c.date || t("undated")];
    if (c.section) meta.push(c.section);
    if (c.page) meta.push(t("page {page}", { page: c.page }));
    li.appendChild(el("p", "meta", meta.join(" · ")));
    var quotes = (c.quotes || []).filter(Boolean);
    li.appendChild(otherLanguage(el("p", "quote", quotes.length ? quotes.join(" … ") : shortened(c.text)), c.language));
    var more = el("details", "more");
    more.appendChild(el("summary", "", t("Show the passage")));
    more.appendChild(otherLanguage(passage(String(c.text || ""), c.quotes), c.language));
    li.appendChild(more);
    var href = safeUrl(c.source, c.page);
    if (href) {
      var a = el("a", "", t("Open source: {title}", { title: c.title || href }));
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      li.appendChild(a);
    } else if (c.source || c.document) {
      li.appendChild(el("span", "meta", c.source || c.document));
    }
    return li;
  }

  function renderAnswer(node, data) {
    var prefix = "a" + (++answers) + "-src";
    var titles = {};
    (data.citations || []).forEach(function (c) { titles[c.n] = c.title || c.document || ""; });
    node.textContent = "";
    node.classList.add("answer");
    var text = el("p", "text");
    String(data.answer || "").split(/(\[\d{1,3}\])/).forEach(function (part) {
      var m = /^\[(\d{1,3})\]$/.exec(part);
      if (!m || !(m[1] in titles)) { text.appendChild(document.createTextNode(part)); return; }
      var ref = el("button", "ref", "[" + m[1] + "]");
      ref.type = "button";
      ref.setAttribute("aria-label", t("Source {n}: {title}", { n: m[1], title: titles[m[1]] }));
      ref.addEventListener("click", function () {
        var target = document.getElementById(prefix + m[1]);
        if (target) { target.scrollIntoView({ block: "nearest" }); target.focus(); }
      });
      text.appendChild(ref);
    });
    node.appendChild(text);
    if (data.note) node.appendChild(el("p", "meta", data.note));
    if (data.citations && data.citations.length) {
      node.appendChild(el("p", "sources-title", t("Sources")));
      var list = el("ol", "sources");
      list.setAttribute("aria-label", t("Sources"));
      data.citations.forEach(function (c) { list.appendChild(card(c, prefix + c.n)); });
      node.appendChild(list);
    }
    node.removeAttribute("aria-busy");
    var sources = (data.citations || []).length;
    var said = t("Answer: {text}", { text: String(data.answer || "").replace(/\s*\[\d{1,3}\]/g, "") });
    if (sources === 1) said += " " + t("(1 source below.)");
    else if (sources) said += " " + t("({count} sources below.)", { count: sources });
    announce.textContent = said;
    // the answer's first line at the top, not its last source card (and only this frame scrolls:
    // scrollIntoView would scroll the city's page around the widget too)
    scrollToStart(node);
  }

  function showError(node, message) {
    node.textContent = message;
    node.className = "msg bot error";
    node.removeAttribute("aria-busy");
    announce.textContent = message;
  }

  async function errorMessage(res) {
    var data = {};
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (res.status === 429) {
      var wait = parseInt(res.headers.get("Retry-After"), 10) || data.retry_after || 30;
      return t("You are asking very quickly. Please wait {seconds} seconds and try again.", { seconds: wait });
    }
    return (data && data.message) || t("The assistant could not answer right now. Please try again.");
  }

  function parseEvent(block) {
    var event = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) event = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    try { return { event: event, data: JSON.parse(data.join("\n")) }; } catch (e) { return null; }
  }

  // One try at an answer: {state: "done", data}, "error" (the server said why: shown), "cut" (the
  // stream ended before its last event) or "unreachable" (no response at all).
  async function stream(question, node) {
    var res, streamed = "", done = null;
    try {
      res = await fetch("/api/ask/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        body: JSON.stringify({ question: question, history: history.slice(-MAX_HISTORY), language: LANG }),
      });
    } catch (e) {
      return { state: "unreachable" };
    }
    if (!res.ok || !res.body) { showError(node, await errorMessage(res)); return { state: "error" }; }
    try {
      var reader = res.body.getReader(), decoder = new TextDecoder(), buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
        var cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          var ev = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (!ev) continue;
          if (ev.event === "delta") { streamed += ev.data.text || ""; node.textContent = streamed; scrollDown(); }
          else if (ev.event === "done") { done = ev.data; renderAnswer(node, done); }
          else if (ev.event === "error") {
            showError(node, ev.data.message || t("The assistant could not answer right now. Please try again."));
            return { state: "error" };
          }
        }
      }
    } catch (e) {
      // the connection broke mid-answer; what arrived before it still counts
    }
    return done ? { state: "done", data: done } : { state: "cut" };
  }

  async function ask(question) {
    busy = true;
    send.disabled = true;
    addMessage("user", question);
    var node = addMessage("bot", "…");
    node.setAttribute("aria-busy", "true");
    announce.textContent = t("Looking for an answer…");
    try {
      var result = await stream(question, node);
      if (result.state === "cut" || result.state === "unreachable") {
        // a server that went away mid-answer (a replica restarting behind the proxy): once more
        node.textContent = "…";
        result = await stream(question, node);
      }
      if (result.state === "cut") showError(node, t("The answer was cut off. Please try again."));
      if (result.state === "unreachable") {
        showError(node, t("The assistant cannot be reached right now. Please check your connection and try again."));
      }
      if (result.state !== "done") return;
      history.push({ role: "user", content: question.slice(0, MAX_HISTORY_MESSAGE) });
      history.push({ role: "assistant", content: String(result.data.answer).slice(0, MAX_HISTORY_MESSAGE) });
      history = history.slice(-MAX_HISTORY);
    } finally {
      busy = false;
      send.disabled = false;
      // a question sent while this answer was coming is asked now, as it stands in the box
      if (queued) { queued = false; form.requestSubmit(); }
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (busy) {
      if (question) { queued = true; announce.textContent = t("Your question will be asked when this answer is complete."); }
      return;
    }
    if (!question) { announce.textContent = t("Please type a question."); input.focus(); return; }
    if (question.length > MAX_CHARS) {
      announce.textContent = t("Please keep the question to at most {limit} characters.", { limit: MAX_CHARS });
      return;
    }
    input.value = "";
    input.focus();
    ask(question);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  $("esa-clear").addEventListener("click", function () {
    history = [];
    Array.prototype.slice.call(log.children).forEach(function (child) {
      if (child !== greeting) log.removeChild(child);
    });
    announce.textContent = t("Conversation cleared.");
    input.focus();
  });

  function closePanel() { window.parent.postMessage({ type: "esa:close" }, parentOrigin); }
  if (window.parent !== window) { // inside the widget's panel: Close and Escape close it
    $("esa-close").hidden = false;
    $("esa-close").addEventListener("click", closePanel);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closePanel();
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data.type === "esa:focus") input.focus();
  });

  options();
})();
