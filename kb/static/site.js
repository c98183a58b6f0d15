/* kb: search box on every page. Works from file:// (the index is a script, not a fetch). */
(function () {
  "use strict";

  var KIND_LABELS = { claim: "Claim", expert: "Expert", source: "Source", topic: "Topic" };
  var KIND_ORDER = { claim: 0, expert: 1, source: 2, topic: 3 };
  var LIMIT = 25;

  function words(text) {
    var plain = text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    return plain.match(/[\p{L}\p{N}]+/gu) || [];
  }

  function firstAtLeast(list, key) {
    var lo = 0, hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /* Every document that has, for each query word, a word starting with it. */
  function search(index, query) {
    var terms = words(query);
    if (!terms.length) return [];
    var hits = null;
    for (var t = 0; t < terms.length; t++) {
      var term = terms[t], found = new Set();
      for (var i = firstAtLeast(index.words, term); i < index.words.length; i++) {
        if (index.words[i].lastIndexOf(term, 0) !== 0) break;
        var post = index.postings[i];
        for (var j = 0; j < post.length; j++) found.add(post[j]);
      }
      if (hits === null) hits = found;
      else hits = new Set(Array.from(hits).filter(function (d) { return found.has(d); }));
      if (!hits.size) return [];
    }
    var results = Array.from(hits).map(function (d) {
      var doc = index.docs[d], title = words(doc[1]), score = 0;
      terms.forEach(function (term) {
        if (title.some(function (w) { return w === term; })) score += 3;
        else if (title.some(function (w) { return w.lastIndexOf(term, 0) === 0; })) score += 2;
      });
      return { doc: doc, score: score };
    });
    results.sort(function (a, b) {
      return b.score - a.score ||
        KIND_ORDER[a.doc[0]] - KIND_ORDER[b.doc[0]] ||
        (a.doc[1] < b.doc[1] ? -1 : a.doc[1] > b.doc[1] ? 1 : 0);
    });
    return results;
  }

  /* Put text into an element with each word that starts with a query term in a <mark>. */
  function highlight(el, text, terms) {
    var re = /[\p{L}\p{N}]+/gu, at = 0, m;
    while ((m = re.exec(text)) !== null) {
      var w = words(m[0]).join("");
      var hit = terms.some(function (t) { return w.lastIndexOf(t, 0) === 0; });
      if (!hit) continue;
      if (m.index > at) el.appendChild(document.createTextNode(text.slice(at, m.index)));
      var mark = document.createElement("mark");
      mark.textContent = m[0];
      el.appendChild(mark);
      at = m.index + m[0].length;
    }
    if (at < text.length) el.appendChild(document.createTextNode(text.slice(at)));
  }

  function setup() {
    var input = document.getElementById("kb-q");
    var panel = document.getElementById("kb-search-panel");
    var list = document.getElementById("kb-results");
    var status = document.getElementById("kb-search-status");
    if (!input || !panel || !list || !status) return;
    var root = document.body.getAttribute("data-root") || "./";
    var loading = false;

    function load() {
      if (window.KB_SEARCH || loading) return;
      loading = true;
      var s = document.createElement("script");
      s.src = document.body.getAttribute("data-search-index");
      s.onload = function () { update(); };
      s.onerror = function () { show("The search index could not be loaded."); };
      document.head.appendChild(s);
    }

    function show(message) {
      status.textContent = message;
      panel.hidden = false;
    }

    function close() {
      panel.hidden = true;
    }

    function update() {
      var query = input.value.trim();
      list.textContent = "";
      if (!query) { close(); return; }
      if (!window.KB_SEARCH) { show("Loading the search index…"); load(); return; }
      var results = search(window.KB_SEARCH, query), terms = words(query);
      results.slice(0, LIMIT).forEach(function (r) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = root + r.doc[2];
        var kind = document.createElement("span");
        kind.className = "sr-kind";
        kind.textContent = KIND_LABELS[r.doc[0]] || r.doc[0];
        var title = document.createElement("span");
        title.className = "sr-title";
        highlight(title, r.doc[1], terms);
        var sub = document.createElement("span");
        sub.className = "sr-sub";
        highlight(sub, r.doc[3], terms);
        a.appendChild(kind); a.appendChild(title); a.appendChild(sub);
        li.appendChild(a);
        list.appendChild(li);
      });
      var n = results.length;
      show(n === 0 ? "Nothing matches “" + query + "”." :
        n > LIMIT ? n + " results; the first " + LIMIT + " are shown." :
        n + (n === 1 ? " result." : " results."));
    }

    function links() { return Array.prototype.slice.call(list.querySelectorAll("a")); }

    input.addEventListener("focus", load);
    input.addEventListener("input", update);
    input.addEventListener("keydown", function (e) {
      var all = links();
      if (e.key === "ArrowDown" && all.length) { e.preventDefault(); all[0].focus(); }
      else if (e.key === "Enter" && all.length) { e.preventDefault(); all[0].click(); }
      else if (e.key === "Escape") { input.value = ""; close(); }
    });
    list.addEventListener("keydown", function (e) {
      var all = links(), at = all.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && at < all.length - 1) { e.preventDefault(); all[at + 1].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); (at > 0 ? all[at - 1] : input).focus(); }
      else if (e.key === "Escape") { e.preventDefault(); close(); input.focus(); }
    });
    var box = input.parentNode;
    box.addEventListener("focusout", function () {
      // Later, not at once: a click on a result (which may not take focus) must land first.
      setTimeout(function () { if (!box.contains(document.activeElement)) close(); }, 200);
    });
    document.addEventListener("click", function (e) {
      if (!panel.hidden && !panel.contains(e.target) && e.target !== input) close();
    });
    document.addEventListener("keydown", function (e) {
      var t = e.target, typing = t && (t.tagName === "INPUT" || t.tagName === "SELECT" ||
        t.tagName === "TEXTAREA" || t.isContentEditable);
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        input.focus();
      }
    });
    if (input.value.trim()) update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();

/* kb: "Copy" buttons of the cite box: the block (quote, speaker and reference) goes on the
   clipboard as rich HTML and as plain text, one paragraph a line. */
(function () {
  "use strict";

  function plain(block) {
    return Array.prototype.map.call(block.querySelectorAll("p"), function (p) {
      return p.textContent.replace(/\s+/g, " ").trim();
    }).join("\n");
  }

  function copy(block) {
    var html = block.innerHTML, text = plain(block), done = false;
    function onCopy(e) {
      e.clipboardData.setData("text/plain", text);
      e.clipboardData.setData("text/html", html);
      e.preventDefault();
      done = true;
    }
    document.addEventListener("copy", onCopy);
    try { document.execCommand("copy"); } finally { document.removeEventListener("copy", onCopy); }
    return done;
  }

  function setup() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      var block = document.getElementById(button.getAttribute("data-copy"));
      if (!block) return;
      var status = button.parentNode.querySelector(".copy-status");
      button.hidden = false;
      button.addEventListener("click", function () {
        var ok = copy(block);
        if (status) status.textContent = ok ? "Copied." : "Select the text and copy it.";
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();

