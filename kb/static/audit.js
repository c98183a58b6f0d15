/* kb: sort and filter the audit tables, with the filters and the sort kept in the page's URL
   (?verdict=misleading&sort=date&order=desc), so that a filtered table can be linked to.
   Without script the tables are still complete. */
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);

  function cellValue(row, col, type) {
    var cell = row.cells[col];
    var v = cell ? (cell.getAttribute("data-v") !== null ? cell.getAttribute("data-v") : cell.textContent) : "";
    return type === "num" ? parseFloat(v) || 0 : v.toLowerCase();
  }

  /* Write the controls' state into the URL, without a new history entry. */
  function remember() {
    var out = new URLSearchParams();
    Array.prototype.forEach.call(document.querySelectorAll("[data-param]"), function (el) {
      var name = el.getAttribute("data-param");
      if (el.type === "checkbox") { if (el.checked) out.set(name, "1"); }
      else if (el.value) out.set(name, el.value);
    });
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
      var prefix = t.getAttribute("data-sort-param") || "";
      var th = t.querySelector('th[aria-sort="ascending"], th[aria-sort="descending"]');
      if (th && th.getAttribute("data-key")) {
        out.set(prefix + "sort", th.getAttribute("data-key"));
        out.set(prefix + "order", th.getAttribute("aria-sort") === "ascending" ? "asc" : "desc");
      }
    });
    var query = out.toString();
    var next = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    try { window.history.replaceState(null, "", next); } catch (e) { /* an opaque origin */ }
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    function sortBy(th, col, dir) {
      Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", dir);
      var type = th.getAttribute("data-type") || "text";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var keyed = rows.map(function (r, i) { return { r: r, k: cellValue(r, col, type), i: i }; });
      keyed.sort(function (a, b) {
        var c = a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i;
        return dir === "ascending" ? c : -c;
      });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (x) { frag.appendChild(x.r); });
      body.appendChild(frag);
    }
    var prefix = table.getAttribute("data-sort-param") || "";
    var wanted = params.get(prefix + "sort");
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        sortBy(th, col, th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
        remember();
      });
      if (wanted && th.getAttribute("data-key") === wanted) {
        sortBy(th, col, params.get(prefix + "order") === "desc" ? "descending" : "ascending");
      }
    });
  }

  function makeFilterable(table) {
    var id = table.id;
    var text = document.querySelector('[data-filter-text="' + id + '"]');
    var verdict = document.querySelector('[data-filter-verdict="' + id + '"]');
    var problems = document.querySelector('[data-filter-problems="' + id + '"]');
    var code = document.querySelector('[data-filter-code="' + id + '"]');
    var severity = document.querySelector('[data-filter-severity="' + id + '"]');
    var status = document.getElementById(id + "-status");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    var controls = [text, verdict, problems, code, severity];

    controls.forEach(function (el) {  /* the state the URL asks for */
      if (!el) return;
      var want = params.get(el.getAttribute("data-param"));
      if (want === null) return;
      if (el.type === "checkbox") el.checked = want === "1";
      else if (el.tagName !== "SELECT" || el.querySelector('option[value="' + CSS.escape(want) + '"]')) el.value = want;
    });

    function apply() {
      var terms = text ? text.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      var v = verdict ? verdict.value : "";
      var c = code ? code.value : "";
      var s = severity ? severity.value : "";
      var onlyProblems = problems ? problems.checked : false;
      var shown = 0;
      rows.forEach(function (r, i) {
        var rv = r.getAttribute("data-verdict");
        var ok = terms.every(function (t) { return texts[i].indexOf(t) !== -1; }) &&
          (!v || rv === v || (v === "reviewed" && rv !== "unreviewed")) &&
          (!c || r.getAttribute("data-code") === c) &&
          (!s || r.getAttribute("data-severity") === s) &&
          (!onlyProblems || r.getAttribute("data-problems") !== "0");
        r.hidden = !ok;
        if (ok) shown++;
      });
      if (status) status.textContent = shown === rows.length ? "" : "Showing " + shown + " of " + rows.length + ".";
    }

    controls.forEach(function (el) {
      if (el) el.addEventListener(el.tagName === "SELECT" || el.type === "checkbox" ? "change" : "input", function () {
        apply();
        remember();
      });
    });
    apply();
  }


  /* Data mode: the page holds the first rows only; window.KB_AUDIT (audit-data.js) has them
     all as plain values. Sort and filter the data, then draw a page of rows at a time. */
  var PAGE = 200;

  function badgeOf(attr, value) {
    var t = document.getElementById("kb-badges");
    var b = t && t.content.querySelector("[" + attr + '="' + value + '"]');
    return b ? b.firstElementChild.cloneNode(true) : document.createTextNode(value);
  }

  function td(text, v, cls) {
    var cell = document.createElement("td");
    if (text !== null && text !== undefined) cell.textContent = String(text);
    if (v !== undefined && v !== null) cell.setAttribute("data-v", String(v));
    if (cls) cell.className = cls;
    return cell;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function muted(text, cls) {
    var s = document.createElement("span");
    s.className = "muted" + (cls ? " " + cls : "");
    s.textContent = text;
    return s;
  }

  /* The same markup as _tables.html's claim_rows. */
  function claimRow(r, hidden) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-verdict", r[3]);
    tr.setAttribute("data-problems", String(r[9] + r[10]));
    var first = td(null, r[0]);
    first.appendChild(link(r[2], r[1]));
    first.appendChild(document.createTextNode(" "));
    first.appendChild(muted(r[0], "id"));
    tr.appendChild(first);
    var verdict = td(null, r[4]);
    verdict.appendChild(badgeOf("data-verdict", r[3]));
    tr.appendChild(verdict);
    tr.appendChild(td(r[5], null, "why"));
    var rating = td(null, r[12], "att");
    rating.appendChild(badgeOf("data-attribution", r[11]));
    tr.appendChild(rating);
    if (hidden.indexOf("r") < 0) {
      var who = td(null, r[6] === null ? "" : r[6], "nowrap");
      who.appendChild(r[6] === null ? muted("—") : r[7] ? link(r[7], r[6]) : document.createTextNode(r[6]));
      tr.appendChild(who);
    }
    if (hidden.indexOf("d") < 0) {
      var date = td(null, r[8], "nowrap");
      if (r[8]) { var t = document.createElement("time"); t.dateTime = r[8]; t.textContent = r[8]; date.appendChild(t); }
      else date.appendChild(muted("—"));
      tr.appendChild(date);
    }
    if (hidden.indexOf("e") < 0) tr.appendChild(td(r[9], r[9], "num" + (r[9] ? " has-errors" : "")));
    if (hidden.indexOf("w") < 0) tr.appendChild(td(r[10], r[10], "num" + (r[10] ? " has-warnings" : "")));
    return tr;
  }

  /* The same markup as _tables.html's problem_rows. */
  function problemRow(p) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-code", p[1]);
    tr.setAttribute("data-severity", p[0]);
    var sev = td(null, p[0] === "error" ? "0" : "1");
    sev.appendChild(badgeOf("data-severity", p[0]));
    tr.appendChild(sev);
    var code = td(null, p[1]);
    var c = document.createElement("code"); c.className = "pcode"; c.textContent = p[1];
    code.appendChild(c);
    tr.appendChild(code);
    tr.appendChild(td(p[3], p[4] + ":" + ("0000000" + p[5]).slice(-8), "where"));
    tr.appendChild(td(p[2]));
    var about = td(null);
    if (p[7] !== null) {
      about.appendChild(muted(p[6]));
      about.appendChild(document.createTextNode(" "));
      about.appendChild(link(p[7], p[8]));
    }
    tr.appendChild(about);
    return tr;
  }

  var CLAIM_KEYS = {
    claim: function (r) { return r[0]; }, verdict: function (r) { return r[4]; },
    why: function (r) { return r[5].toLowerCase(); }, attribution: function (r) { return r[12]; },
    reviewer: function (r) { return (r[6] || "").toLowerCase(); }, date: function (r) { return r[8]; },
    errors: function (r) { return r[9]; }, warnings: function (r) { return r[10]; }
  };
  var PROBLEM_KEYS = {
    severity: function (p) { return p[0] === "error" ? 0 : 1; }, check: function (p) { return p[1]; },
    where: function (p) { return p[4] + ":" + ("0000000" + p[5]).slice(-8); },
    message: function (p) { return p[2].toLowerCase(); },
    about: function (p) { return p[7] === null ? "" : ((p[6] || "") + " " + (p[8] || "")).toLowerCase(); }
  };

  function dataTable(table, rows, keys, make, accept) {
    var id = table.id;
    var body = table.tBodies[0];
    var status = document.getElementById(id + "-status");
    var more = document.getElementById(id + "-more");
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    var prefix = table.getAttribute("data-sort-param") || "";
    var items = rows.map(function (r, i) { return { r: r, i: i, el: null, text: null }; });
    var shown = [], drawn = 0, sortKey = null, sortDir = "ascending";
    var text = document.querySelector('[data-filter-text="' + id + '"]');
    var controls = Array.prototype.slice.call(document.querySelectorAll(
      '[data-filter-text="' + id + '"], [data-filter-verdict="' + id + '"], [data-filter-problems="' + id + '"], ' +
      '[data-filter-code="' + id + '"], [data-filter-severity="' + id + '"]'));

    function draw(upto) {
      var frag = document.createDocumentFragment();
      for (; drawn < Math.min(upto, shown.length); drawn++) {
        var item = shown[drawn];
        if (!item.el) item.el = make(item.r);
        frag.appendChild(item.el);
      }
      body.appendChild(frag);
      if (more) {
        more.hidden = drawn >= shown.length;
        var rest = shown.length - drawn;
        more.firstElementChild.textContent = "Show " + Math.min(PAGE, rest) + " more (" + rest + " not shown)";
      }
    }

    function apply() {
      var terms = text ? text.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      shown = items.filter(function (item) {
        if (terms.length) {
          if (item.text === null) item.text = item.r.join(" ").toLowerCase();
          if (!terms.every(function (t) { return item.text.indexOf(t) !== -1; })) return false;
        }
        return accept(item.r);
      });
      if (sortKey) {
        var key = keys[sortKey];
        var keyed = shown.map(function (item) { return { item: item, k: key(item.r) }; });
        keyed.sort(function (a, b) {
          var c = a.k < b.k ? -1 : a.k > b.k ? 1 : a.item.i - b.item.i;
          return sortDir === "ascending" ? c : -c;
        });
        shown = keyed.map(function (x) { return x.item; });
      }
      body.textContent = "";
      drawn = 0;
      draw(PAGE);
      if (status) status.textContent = shown.length === items.length ? "" : "Showing " + shown.length + " of " + items.length + ".";
    }

    var wanted = params.get(prefix + "sort");
    Array.prototype.forEach.call(heads, function (th) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      var key = th.getAttribute("data-key");
      function sortBy(dir) {
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        sortKey = key; sortDir = dir;
      }
      button.addEventListener("click", function () {
        sortBy(th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
        apply();
        remember();
      });
      if (wanted && key === wanted && keys[key]) sortBy(params.get(prefix + "order") === "desc" ? "descending" : "ascending");
    });
    controls.forEach(function (el) {
      var want = params.get(el.getAttribute("data-param"));
      if (want !== null) {
        if (el.type === "checkbox") el.checked = want === "1";
        else if (el.tagName !== "SELECT" || el.querySelector('option[value="' + CSS.escape(want) + '"]')) el.value = want;
      }
      el.addEventListener(el.tagName === "SELECT" || el.type === "checkbox" ? "change" : "input", function () {
        apply();
        remember();
      });
    });
    if (more) more.firstElementChild.addEventListener("click", function () { draw(drawn + PAGE); });
    apply();
  }

  function value(id) { var el = document.getElementById(id); return el ? (el.type === "checkbox" ? el.checked : el.value) : ""; }

  function setupData(data) {
    var claims = document.getElementById("kb-claims");
    if (claims) {
      var hidden = data.hidden || "";
      dataTable(claims, data.claims, CLAIM_KEYS, function (r) { return claimRow(r, hidden); }, function (r) {
        var v = value("kb-f-verdict");
        return (!v || r[3] === v || (v === "reviewed" && r[3] !== "unreviewed")) &&
          (!value("kb-f-problems") || r[9] + r[10] > 0);
      });
    }
    var problems = document.getElementById("kb-problems");
    if (problems) {
      dataTable(problems, data.problems, PROBLEM_KEYS, problemRow, function (p) {
        var c = value("kb-p-code"), s = value("kb-p-severity");
        return (!c || p[1] === c) && (!s || p[0] === s);
      });
    }
    if (window.location.hash) {  /* the rows above the anchor changed: go there again */
      var target = document.getElementById(window.location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
  }

  function setup() {
    var claims = document.getElementById("kb-claims");
    var more = claims && claims.getAttribute("data-rows-script");
    if (more && !window.KB_AUDIT) {
      /* the first rows are on screen: every row comes after, without holding up the page */
      var status = document.getElementById("kb-claims-status");
      if (status) status.textContent = "Loading every row…";
      var script = document.createElement("script");
      script.src = more;
      script.onload = function () {
        if (status) status.textContent = "";
        if (window.KB_AUDIT) setupData(window.KB_AUDIT); else domMode();
      };
      script.onerror = function () { domMode(); };
      document.head.appendChild(script);
      return;
    }
    if (window.KB_AUDIT) setupData(window.KB_AUDIT);
    else domMode();
  }

  /* Every row is in the page (or only the first ones could be had): sort and filter those. */
  function domMode() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
      makeSortable(t);
      makeFilterable(t);
    });
    if (window.location.hash) {  /* the rows above the anchor moved: go there again */
      var target = document.getElementById(window.location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
