// Scanner and keyboard: the scan field (or the fix button) keeps focus; F4 jumps to the short
// pick count; Esc comes back to the scan field. Scanners type the code and press Enter.
(function () {
  function primary() {
    return document.querySelector("[autofocus]") ||
      document.getElementById("fix-primary") || document.getElementById("barcode") ||
      document.getElementById("weight") || document.getElementById("dispatch");
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "F4") {
      var shelf = document.getElementById("on_shelf");
      if (shelf) { e.preventDefault(); shelf.focus(); }
    } else if (e.key === "Escape") {
      var el = primary();
      if (el) { e.preventDefault(); el.focus(); }
    }
  });
  var el = primary();
  if (el && document.activeElement !== el) { el.focus(); }
})();
