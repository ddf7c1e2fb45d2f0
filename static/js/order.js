// The order page's five steps, refreshed every 2 s from the order's status JSON. The server
// sends each time already on the site's clock (Beijing time) and each step's elapsed seconds,
// so the page reads the same before and after a refresh, whatever the browser's time zone.
(function () {
  var box = document.getElementById("order");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  var notYet = null;
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
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
        if (["delivered", "cancelled", "expired", "rejected", "returned"].indexOf(data.state) < 0) {
          setTimeout(tick, 2000);
        }
      }).catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
