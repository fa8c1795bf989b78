/* The editors' console over the admin API. Plain JS, no dependencies; everything from the server
   is put in the page with textContent. The session is an HttpOnly cookie the script never sees;
   requests that change something carry the session's CSRF token (X-CSRF-Token). Messages are
   English ids translated with t(message) from the #esa-i18n catalogue. */
(function () {
  "use strict";
  var messages = {};
  try { messages = JSON.parse(document.getElementById("esa-i18n").textContent).messages || {}; } catch (e) { /* English */ }
  var byId = function (id) { return document.getElementById(id); };
  var csrf = "";
  var POLL_MS = 500;

  function t(message, values) {
    var text = Object.prototype.hasOwnProperty.call(messages, message) ? messages[message] : message;
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && key in values ? String(values[key]) : whole;
    });
  }

  function make(tag, text, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function say(text) { byId("status").textContent = text; }
  function fail(text) { byId("error").textContent = text; }

  function call(method, url, body, headers) {
    var options = { method: method, credentials: "same-origin", headers: headers || {} };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) options.body = body;
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401) showSignIn(t("Please sign in again."));
        if (!response.ok) throw problem(response.status, data);
        return data;
      });
    });
  }

  function problem(status, data) {
    var known = {
      400: t("Use a plain file name: letters, digits, spaces, dots, dashes and underscores."),
      413: t("The file is too large."),
      415: t("Upload a Markdown, text, HTML or PDF file."),
      429: t("Too many failed sign-ins; wait a minute and try again.")
    };
    if (status === 422 && data.message) return new Error(t("The file cannot be used: {reason}", { reason: data.message }));
    return new Error(known[status] || data.message || t("Something went wrong ({status}).", { status: status }));
  }

  // --- signing in and out ------------------------------------------------------------------

  function showSignIn(message) {
    csrf = "";
    byId("console").hidden = true;
    byId("sign-out").hidden = true;
    byId("sign-in-section").hidden = false;
    byId("sign-in-error").textContent = message || "";
  }

  function showConsole() {
    byId("sign-in-section").hidden = true;
    byId("console").hidden = false;
    byId("sign-out").hidden = false;
    refresh();
  }

  byId("sign-in").addEventListener("submit", function (event) {
    event.preventDefault();
    var token = byId("token");
    if (!token.value.trim()) { byId("sign-in-error").textContent = t("Type the admin token."); token.focus(); return; }
    fetch("/admin/session", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: token.value })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          byId("sign-in-error").textContent = response.status === 429 ? t("Too many failed sign-ins; wait a minute and try again.") : t("That is not the admin token.");
          token.focus();
          return;
        }
        token.value = "";
        csrf = data.csrf;
        say(t("Signed in."));
        showConsole();
        byId("documents-title").focus();
      });
    });
  });

  byId("sign-out").addEventListener("click", function () {
    call("DELETE", "/admin/session").catch(function () { /* signed out anyway */ }).then(function () {
      showSignIn();
      say(t("Signed out."));
      byId("token").focus();
    });
  });

  // --- documents ---------------------------------------------------------------------------

  var STATUS = { indexed: t("In use"), pending: t("Waiting for the next build"), skipped: t("Skipped") };

  function refresh() {
    loadDocuments();
    loadGaps();
    loadFeedback();
  }

  var shownVersion = "";  // the index version of the table on screen

  function loadDocuments() {
    return call("GET", "/api/admin/documents").then(function (data) {
      shownVersion = data.index_version;
      var rows = byId("documents").querySelector("tbody");
      rows.textContent = "";
      data.documents.forEach(function (doc) { rows.appendChild(documentRow(doc)); });
    }).catch(function (error) { fail(error.message); });
  }

  function documentRow(doc) {
    var row = make("tr");
    var name = make("th");
    name.scope = "row";
    name.appendChild(make("span", doc.title || doc.name, "title"));
    name.appendChild(make("span", doc.name, "name"));
    row.appendChild(name);
    row.appendChild(make("td", doc.language || "–"));
    row.appendChild(make("td", doc.date || "–"));
    var status = make("td", STATUS[doc.status] || doc.status, "status-" + doc.status);
    if (doc.reason) status.appendChild(make("span", doc.reason, "reason"));
    row.appendChild(status);
    row.appendChild(make("td", doc.chunks));
    var actions = make("td", undefined, "actions");
    if (doc.present) {
      var replace = make("button", t("Replace"), "ghost");
      replace.type = "button";
      replace.setAttribute("aria-label", t("Replace {name}", { name: doc.name }));
      replace.addEventListener("click", function () { chooseReplacement(doc.name); });
      var remove = make("button", t("Delete"), "danger");
      remove.type = "button";
      remove.setAttribute("aria-label", t("Delete {name}", { name: doc.name }));
      remove.addEventListener("click", function () { removeDocument(doc.name); });
      actions.appendChild(replace);
      actions.appendChild(remove);
    }
    row.appendChild(actions);
    return row;
  }

  function upload(file, name) {
    fail("");
    say(t("Uploading {name}…", { name: name }));
    return call("PUT", "/api/admin/documents/" + encodeURIComponent(name), file)
      .then(function (data) { return settle(data, t("{name} was saved.", { name: name })); })
      .catch(function (error) { fail(name + ": " + error.message); say(""); });
  }

  function uploadAll(files) {
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () { return upload(file, file.name); });
    });
    return chain;
  }

  var replacing = "";
  function chooseReplacement(name) {
    replacing = name;
    byId("replace-file").click();
  }

  byId("replace-file").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (file && replacing) upload(file, replacing);
    event.target.value = "";
  });

  function removeDocument(name) {
    if (!window.confirm(t("Delete {name}? The assistant stops quoting it after the next build.", { name: name }))) return;
    fail("");
    call("DELETE", "/api/admin/documents/" + encodeURIComponent(name))
      .then(function (data) { return settle(data, t("{name} was deleted.", { name: name })); })
      .catch(function (error) { fail(name + ": " + error.message); });
  }

  // A builder answers with the build it runs; a replica (serve --follow) only saves the file, and
  // the builder watching the shared folder publishes the next index version.
  function settle(data, done) {
    if (data.unchanged) { byId("build").textContent = done; return Promise.resolve(); }
    return data.build === null ? awaitPublished(done) : follow(data.build, done);
  }

  var PUBLISH_WAIT_MS = 10 * 60 * 1000;

  function awaitPublished(done) {
    var before = shownVersion, started = Date.now(), line = byId("build");
    line.textContent = t("Waiting for the builder to publish the new index…");
    return new Promise(function (resolve) {
      function poll() {
        call("GET", "/api/admin/documents").then(function (data) {
          if (data.index_version !== before) {
            line.textContent = done + " " + t("The builder published the new index.");
            say("");
            loadDocuments().then(resolve);
          } else if (Date.now() - started > PUBLISH_WAIT_MS) {
            line.textContent = "";
            fail(t("The builder has not published a new index yet; is it running?"));
            resolve();
          } else {
            setTimeout(poll, 2 * POLL_MS);
          }
        }).catch(function (error) { fail(error.message); resolve(); });
      }
      poll();
    });
  }

  function follow(build, done) {
    return new Promise(function (resolve) {
      function poll() {
        call("GET", "/api/admin/builds/" + build).then(function (state) {
          var line = byId("build");
          if (state.state === "done") {
            var r = state.result || {};
            line.textContent = done + " " + t("The index is up to date: {added} added, {changed} changed, {removed} removed.", { added: r.added || 0, changed: r.changed || 0, removed: r.removed || 0 });
            say("");
            loadDocuments().then(resolve);
            return;
          }
          if (state.state === "failed") {
            line.textContent = "";
            fail(t("The build failed; the assistant still answers from the previous index. {error}", { error: state.error || "" }));
            resolve();
            return;
          }
          var progress = state.progress || {}, chunks = progress.chunk, sentences = progress.sentence;
          line.textContent = sentences && sentences.total
            ? t("Building the index: {done} of {total} sentences read.", { done: sentences.done, total: sentences.total })
            : chunks && chunks.total
            ? t("Building the index: {done} of {total} passages read.", { done: chunks.done, total: chunks.total })
            : t("Building the index…");
          setTimeout(poll, POLL_MS);
        }).catch(function (error) { fail(error.message); resolve(); });
      }
      poll();
    });
  }

  var drop = byId("drop");
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) uploadAll(event.dataTransfer.files);
  });
  byId("files").addEventListener("change", function (event) {
    uploadAll(event.target.files).then(function () { event.target.value = ""; });
  });

  // --- what residents ask ------------------------------------------------------------------

  function loadGaps() {
    call("GET", "/api/admin/questions?refused=true").then(function (data) {
      var list = byId("gaps");
      list.textContent = "";
      if (data.log === "off") { list.appendChild(make("li", t("The question log is off (ASSISTANT_LOG_DAYS=0)."))); return; }
      if (!data.gaps.length) { list.appendChild(make("li", t("No unanswered questions in the last {days} days.", { days: data.retention_days }))); return; }
      data.gaps.forEach(function (gap) {
        var item = make("li");
        item.appendChild(make("span", gap.question, "question"));
        item.appendChild(make("span", t("asked {count} times", { count: gap.count }) + " · " + gap.languages.join(", "), "meta"));
        if (gap.examples.length > 1) {
          var more = make("details");
          more.appendChild(make("summary", t("Other wordings")));
          var other = make("ul");
          gap.examples.slice(1).forEach(function (text) { other.appendChild(make("li", text)); });
          more.appendChild(other);
          item.appendChild(more);
        }
        list.appendChild(item);
      });
    }).catch(function (error) { fail(error.message); });
  }

  function loadFeedback() {
    call("GET", "/api/admin/feedback").then(function (data) {
      var list = byId("feedback");
      list.textContent = "";
      if (!data.feedback.length) { list.appendChild(make("li", t("No feedback yet."))); return; }
      data.feedback.slice().reverse().slice(0, 50).forEach(function (row) {
        var item = make("li");
        var rating = row.rating === "up" ? t("Helpful") : row.rating === "down" ? t("Not helpful") : t("Comment");
        item.appendChild(make("span", rating, "rating rating-" + (row.rating || "none")));
        item.appendChild(make("span", row.question, "question"));
        if (row.comment) item.appendChild(make("span", row.comment, "comment"));
        item.appendChild(make("span", row.created_at.slice(0, 16).replace("T", " "), "meta"));
        list.appendChild(item);
      });
    }).catch(function (error) { fail(error.message); });
  }

  // --- start -------------------------------------------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll(".languages a"), function (link) {
    if (link.getAttribute("hreflang") === document.documentElement.lang) link.setAttribute("aria-current", "true");
  });

  // Whether this browser is signed in already. A sign-in that finishes before this answer comes
  // back wins: the answer describes the moment before it.
  fetch("/admin/session", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
    if (csrf) return;
    if (data.signed_in) { csrf = data.csrf; showConsole(); } else { showSignIn(); }
  }).catch(function () { if (!csrf) showSignIn(); });
})();
