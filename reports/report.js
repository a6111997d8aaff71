/* cluster-forensics report: copy buttons, table sorting and filtering, open folds for printing.
   Reads only the page's own text; never builds markup from it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return fallbackCopy(text); });
    }
    return Promise.resolve(fallbackCopy(text));
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!btn) { return; }
    var pre = btn.parentElement.querySelector("pre");
    if (!pre) { return; }
    copyText(pre.textContent).then(function (ok) {
      btn.textContent = ok ? "Copied" : "Press Ctrl+C";
      btn.classList.toggle("done", ok);
      if (!ok) {
        var range = document.createRange();
        range.selectNodeContents(pre);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      window.setTimeout(function () { btn.textContent = "Copy"; btn.classList.remove("done"); }, 1800);
    });
  });

  function cellValue(row, i) {
    var cell = row.cells[i];
    if (!cell) { return ""; }
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    return v.trim();
  }

  function compare(a, b) {
    var na = parseFloat(a.replace(/,/g, "")), nb = parseFloat(b.replace(/,/g, ""));
    var numeric = /^-?[\d,.]+%?$/;
    if (numeric.test(a) && numeric.test(b) && !isNaN(na) && !isNaN(nb)) { return na - nb; }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  // What a table shows: the rows that match its filter, and for a table with data-page="N" only the
  // first N of them (in the current order) until "show all". Hidden rows are never laid out, which
  // keeps a report with thousands of findings quick to open; sorting and filtering still see them all.
  var views = {};
  function viewOf(table) {
    var key = table.id || "";
    if (!views[key]) {
      var page = parseInt(table.getAttribute("data-page") || "0", 10);
      views[key] = { q: "", page: page, all: !(page > 0) };
    }
    return views[key];
  }

  function refresh(table) {
    var v = viewOf(table), body = table.tBodies[0];
    if (!body) { return; }
    var shown = 0, matched = 0, total = body.rows.length;
    Array.prototype.forEach.call(body.rows, function (r) {
      var match = v.q === "" || r.textContent.toLowerCase().indexOf(v.q) >= 0;
      if (match) { matched += 1; }
      var show = match && (v.all || shown < v.page);
      if (show) { shown += 1; }
      if (r.hidden === show) { r.hidden = !show; }
    });
    if (table.id) {
      var counter = document.querySelector("[data-filter-count='" + table.id + "']");
      if (counter) {
        counter.textContent = (v.q === "" ? "" : matched.toLocaleString() + " of ") + total.toLocaleString() +
          " rows" + (shown < matched ? " (the first " + shown.toLocaleString() + " shown)" : "");
      }
      var more = document.querySelector("button[data-show-all='" + table.id + "']");
      if (more) { more.hidden = shown >= matched; }
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, i) {
      th.setAttribute("title", "Sort");
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        if (!body) { return; }
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(cellValue(r1, i), cellValue(r2, i));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        if (table.hasAttribute("data-page")) { refresh(table); }
      });
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table || !table.tBodies[0]) { return; }
    input.addEventListener("input", function () {
      viewOf(table).q = input.value.trim().toLowerCase();
      refresh(table);
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("button[data-show-all]"), function (btn) {
    var table = document.getElementById(btn.getAttribute("data-show-all"));
    if (!table) { return; }
    btn.addEventListener("click", function () {
      viewOf(table).all = true;
      refresh(table);
    });
  });

  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) {
      if (!d.open) { d.setAttribute("data-print-opened", ""); d.open = true; }
    });
  });
  window.addEventListener("afterprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-print-opened]"), function (d) {
      d.open = false; d.removeAttribute("data-print-opened");
    });
  });
}());
