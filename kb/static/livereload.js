/* kb serve: reload the page when the site is rebuilt. Served by `kb serve` only, never built
   into the site. It polls with a script tag, so the pages' CSP (connect-src 'none') holds. */
(function () {
  "use strict";
  if (location.protocol !== "http:" && location.protocol !== "https:") return;
  var seen = null;
  window.KB_LIVE = function (version) {
    if (seen === null) seen = version;
    else if (version !== seen) location.reload();
  };
  function poll() {
    var s = document.createElement("script");
    s.src = "/__kb/version.js?t=" + Date.now();
    s.onload = s.onerror = function () { s.remove(); setTimeout(poll, 700); };
    document.head.appendChild(s);
  }
  poll();
})();
