// Checkout on one page: the address fields show only for home delivery, and the totals (freight,
// tax, to pay) follow the shopper's choice at once, from the server's own preview
// (GET ?summary=1 answers the summary panel's HTML). Without JavaScript, the "update totals"
// button posts the form and the server answers the same page.
(function () {
  var form = document.getElementById("checkout");
  if (!form || !window.fetch) return;
  document.documentElement.classList.add("js");
  var summary = document.getElementById("checkout-summary");
  var url = form.getAttribute("data-summary-url");
  var pending = 0;
  function mode() {
    var checked = form.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : "pickup";
  }
  function showFields() {
    document.getElementById("pickup-fields").hidden = mode() !== "pickup";
    document.getElementById("delivery-fields").hidden = mode() !== "delivery";
  }
  function refresh() {
    var ask = ++pending;
    var params = new URLSearchParams();
    params.set("mode", mode());
    var counter = form.querySelector('[name="counter_code"]');
    if (counter) params.set("counter_code", counter.value);
    summary.setAttribute("aria-busy", "true");
    fetch(url + "&" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || ask !== pending) return;
        summary.innerHTML = html;
        summary.removeAttribute("aria-busy");
        summary.setAttribute("data-mode", params.get("mode"));
      })
      .catch(function () { summary.removeAttribute("aria-busy"); });
  }
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "mode") showFields();
    if (name === "mode" || name === "counter_code") refresh();
  });
  showFields();
})();
