// 匠心点单 admin dashboard: once signed in by ?token= or ?login=, drop the secret from the
// address bar and history (the session cookie carries on from here).
(function () {
  "use strict";
  var url = new URL(window.location.href);
  if (url.searchParams.has("token") || url.searchParams.has("login")) {
    url.searchParams.delete("token");
    url.searchParams.delete("login");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
})();
