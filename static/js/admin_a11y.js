// The admin's autocomplete boxes (select2) draw a combobox over the real <select> and name it
// after the chosen value's text, which is empty until something is chosen: screen readers then
// announce a nameless box. Give the combobox (and its value box) the select's own name
// (aria-label set by the admin, or its <label>), on the page and on every inline row added.
(function () {
  function nameOf(select) {
    var label = select.getAttribute("aria-label");
    if (label) return label;
    var byFor = select.id && document.querySelector('label[for="' + select.id + '"]');
    return byFor ? byFor.textContent.trim().replace(/:$/, "") : "";
  }
  function fix(root) {
    var boxes = (root.querySelectorAll ? root : document).querySelectorAll(
      ".select2-container .select2-selection[role=combobox]:not([data-named])"
    );
    boxes.forEach(function (box) {
      var container = box.closest(".select2-container");
      var select = container && container.previousElementSibling;
      if (!select || select.tagName !== "SELECT") return;
      var name = nameOf(select);
      if (!name) return;
      box.removeAttribute("aria-labelledby");
      box.setAttribute("aria-label", name);
      box.setAttribute("data-named", "1");
      var value = box.querySelector(".select2-selection__rendered[role=textbox]");
      if (value) value.setAttribute("aria-label", name);
    });
  }
  new MutationObserver(function () { fix(document); })
    .observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", function () { fix(document); });
  fix(document);
})();
