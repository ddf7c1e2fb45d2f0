// The order page's five steps, refreshed from the order's status JSON. The server sends each
// time already on the site's clock (Beijing time) and each step's elapsed seconds, so the page
// reads the same before and after a refresh, whatever the browser's time zone.
// The poll is cheap by design (marketplace/poll.py): it sends the last ETag (If-None-Match;
// 304 while nothing changed) and waits as long as the server says (X-Poll-After-Ms), which
// grows with the server's load; it stops once the order is final. When the order becomes
// ready for pickup the page reloads once, so the pickup panel shows the code and its QR.
(function () {
  var box = document.getElementById("order");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  var shownState = box.getAttribute("data-state");
  var etag = null;
  var notYet = null;
  function after(r, fallback) {
    var ms = parseInt(r.headers.get("X-Poll-After-Ms") || "", 10);
    return isNaN(ms) ? fallback : Math.max(500, ms);
  }
  function show(data) {
    document.getElementById("order-state").textContent = data.state_label;
    document.getElementById("order-reason").textContent = data.reason || "";
    data.steps.forEach(function (s, i) {
      var li = document.querySelector('#timeline [data-step="' + s.key + '"]');
      if (!li) return;
      var time = li.querySelector("time");
      if (notYet === null && !s.at) notYet = time.textContent;
      li.className = s.at ? "done" : "";
      li.querySelector(".dot").textContent = s.at ? "\u2713" : String(i + 1);
      time.textContent = s.at ? s.at_local : (notYet || "\u2014");
      if (s.at) time.setAttribute("datetime", s.at); else time.removeAttribute("datetime");
      li.querySelector(".step-elapsed").textContent = s.elapsed || "";
    });
    box.setAttribute("data-state", data.state);
    box.setAttribute("data-refreshed", "1");
  }
  function tick() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { credentials: "same-origin", headers: headers, cache: "no-cache" })
      .then(function (r) {
        if (r.status === 304) {
          box.setAttribute("data-refreshed", "1");
          setTimeout(tick, after(r, 2000));
          return;
        }
        if (!r.ok) { setTimeout(tick, after(r, 5000)); return; }
        etag = r.headers.get("ETag");
        var wait = after(r, 2000);
        return r.json().then(function (data) {
          show(data);
          if (data.pickup_code && shownState !== data.state) {
            window.location.reload(); // the pickup panel (code and QR) is drawn by the server
            return;
          }
          shownState = data.state;
          if (!data.final) setTimeout(tick, wait);
        });
      }).catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
