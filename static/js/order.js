// The order page's five steps, refreshed every 2 s from the order's status JSON.
(function () {
  var box = document.getElementById("order");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(iso) {
    var d = new Date(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        document.getElementById("order-state").textContent = data.state_label;
        document.getElementById("order-reason").textContent = data.reason || "";
        data.steps.forEach(function (s) {
          var li = document.querySelector('#timeline [data-step="' + s.key + '"]');
          if (!li) return;
          li.className = s.at ? "done" : "";
          li.querySelector("time").textContent = s.at ? show(s.at) : "—";
        });
        if (["delivered", "cancelled", "expired", "rejected", "returned"].indexOf(data.state) < 0) {
          setTimeout(tick, 2000);
        }
      }).catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
