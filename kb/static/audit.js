/* kb: sort and filter the audit tables. Without script the tables are still complete. */
(function () {
  "use strict";

  function cellValue(row, col, type) {
    var cell = row.cells[col];
    var v = cell ? (cell.getAttribute("data-v") !== null ? cell.getAttribute("data-v") : cell.textContent) : "";
    return type === "num" ? parseFloat(v) || 0 : v.toLowerCase();
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
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
      });
    });
  }

  function makeFilterable(table) {
    var id = table.id;
    var text = document.querySelector('[data-filter-text="' + id + '"]');
    var verdict = document.querySelector('[data-filter-verdict="' + id + '"]');
    var problems = document.querySelector('[data-filter-problems="' + id + '"]');
    var code = document.querySelector('[data-filter-code="' + id + '"]');
    var status = document.getElementById(id + "-status");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });

    function apply() {
      var terms = text ? text.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      var v = verdict ? verdict.value : "";
      var c = code ? code.value : "";
      var onlyProblems = problems ? problems.checked : false;
      var shown = 0;
      rows.forEach(function (r, i) {
        var ok = terms.every(function (t) { return texts[i].indexOf(t) !== -1; }) &&
          (!v || r.getAttribute("data-verdict") === v) &&
          (!c || r.getAttribute("data-code") === c) &&
          (!onlyProblems || r.getAttribute("data-problems") !== "0");
        r.hidden = !ok;
        if (ok) shown++;
      });
      if (status) status.textContent = shown === rows.length ? "" : "Showing " + shown + " of " + rows.length + ".";
    }

    [text, verdict, problems, code].forEach(function (el) {
      if (el) el.addEventListener(el.tagName === "SELECT" || el.type === "checkbox" ? "change" : "input", apply);
    });
    apply();
  }

  function setup() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
      makeSortable(t);
      makeFilterable(t);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
