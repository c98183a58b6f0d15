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

  function setup() {
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
