/* Kiosk counter app: plain JS, no framework. A barcode scanner types into the focused input
   and presses Enter, so one input per stage is always focused. */
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  if (!root) return;
  var API = root.dataset.api;
  var POLL_MS = parseInt(root.dataset.pollMs, 10) || 1500;
  var UI = JSON.parse(document.getElementById("kiosk-ui").textContent);
  var LANG = root.dataset.lang;
  var message = document.getElementById("message");
  var state = {};

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function call(method, path, body) {
    return fetch(API + path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept-Language": LANG },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { var e = new Error(data.message || response.status); e.data = data; throw e; }
        return data;
      });
    }, function () { throw new Error(UI.network); });
  }

  function say(text, kind) {
    message.textContent = text || "";
    message.className = "message " + (kind || "");
  }
  function fail(error) { say(error.message, "error"); focusScan(); }

  function section() { return root.querySelector(".mode:not([hidden])"); }
  function focusScan() {
    var stage = section().querySelector("[data-stage]:not([hidden])");
    var input = stage && stage.querySelector("input.scan, input");
    if (input && document.activeElement !== input &&
        !(document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-stage]:not([hidden]) form") && document.activeElement.tagName === "INPUT")) {
      input.focus();
    }
  }
  function showStage(sectionId, name) {
    var sec = document.getElementById(sectionId);
    sec.querySelectorAll("[data-stage]").forEach(function (el) { el.hidden = el.dataset.stage !== name; });
    keypadShown();
    focusScan();
  }
  // The keypad only where something is typed (not on the receipt or the payment QR).
  function keypadShown() {
    var stage = section() && section().querySelector("[data-stage]:not([hidden])");
    root.querySelector(".keypad").hidden = !(stage && stage.querySelector("input"));
  }
  function setMode(mode) {
    root.querySelectorAll(".mode").forEach(function (el) { el.hidden = el.id !== mode; });
    root.querySelectorAll("[data-mode]").forEach(function (b) { b.classList.toggle("active", b.dataset.mode === mode); });
    reset();
  }
  function fill(container, data) {
    container.querySelectorAll("[data-field]").forEach(function (el) {
      var v = data[el.dataset.field];
      if (v === undefined) return;
      if (el.dataset.field === "handed_over_at") { el.textContent = new Date(v).toLocaleString(LANG); el.setAttribute("datetime", v); }
      else el.textContent = v;
    });
  }
  function itemName(item) { return LANG === "en" ? (item.name_en || item.name_zh) : (item.name_zh || item.name_en); }
  function yuan(amount) { return "¥" + Number(amount).toFixed(2); }
  function cell(tr, value, className) {
    var td = document.createElement("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value;
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  }
  function removeButton(action, code, name) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "secondary small"; b.dataset.action = action; b.dataset.barcode = code;
    b.textContent = "−1";
    b.title = UI.remove_one;
    b.setAttribute("aria-label", "−1 · " + UI.remove_one_of.replace("%(name)s", name));
    return b;
  }
  function mask(id) { id = id || ""; return id.replace(/.(?=.{4})/g, "*"); }

  function showJourney(journey) {
    var items = document.querySelectorAll("#journey li");
    items.forEach(function (li, i) {
      var step = (journey || [])[i];
      var time = li.querySelector("time");
      li.classList.toggle("done", !!(step && step.at));
      time.textContent = step && step.at ? new Date(step.at).toLocaleTimeString(LANG) : "";
    });
  }

  /* Start over keeps the walk-in shopper (name, masked ID): only "Next shopper" forgets them,
     so a wrong scan never means typing the name, ID and mobile again. */
  function reset() {
    if (state.poll) clearInterval(state.poll);
    var shopper = state.shopper || null;
    state = { scans: {}, cart: [], shopper: shopper };
    root.querySelectorAll("form").forEach(function (f) { f.reset(); });
    root.querySelectorAll(".items tbody, .pay-orders, .problems").forEach(function (el) { el.innerHTML = ""; });
    renderCart(null);
    showJourney([]);
    say("");
    showStage("collect", "code");
    if (shopper) {
      fill(document.querySelector("#walkin [data-stage=order]"), { walkin_name: shopper.name, walkin_masked_id: shopper.masked_id });
      showStage("walkin", "order");
    } else showStage("walkin", "register");
  }
  function newShopper() { state.shopper = null; reset(); }

  /* --- 5 Collect ------------------------------------------------------------------------ */
  function renderItems() {
    var body = document.querySelector("#collect [data-stage=items] tbody");
    body.innerHTML = "";
    var ok = true;
    var expected = {};
    state.order.items.forEach(function (item) {
      expected[item.barcode] = (expected[item.barcode] || 0) + item.quantity;
    });
    state.order.items.forEach(function (item) {
      var n = state.scans[item.barcode] || 0;
      var tr = document.createElement("tr");
      tr.className = n === item.quantity ? "ok" : "missing";
      if (n !== item.quantity) ok = false;
      cell(tr, itemName(item) + " (" + item.barcode + ")");
      cell(tr, item.quantity, "num");
      cell(tr, n, "num");
      cell(tr, n ? removeButton("unscan", item.barcode, itemName(item)) : "");
      body.appendChild(tr);
    });
    Object.keys(state.scans).forEach(function (code) {
      if (expected[code] === undefined) {
        ok = false;
        var tr = document.createElement("tr");
        tr.className = "extra";
        cell(tr, UI.extra + " (" + code + ")");
        cell(tr, 0, "num");
        cell(tr, state.scans[code], "num");
        cell(tr, removeButton("unscan", code, code));
        body.appendChild(tr);
      }
    });
    document.querySelector("[data-action=confirm]").disabled = !ok;
    return ok;
  }

  function lookup(form) {
    var code = form.code.value.trim();
    if (!code) return;
    call("POST", "pickups/lookup", { code: code }).then(function (order) {
      state.code = code; state.order = order;
      root.querySelectorAll("#collect [data-stage]").forEach(function (el) { fill(el, order); });
      showJourney(order.journey);
      say("");
      showStage("collect", "identity");
    }, function (e) { form.reset(); fail(e); });
  }

  function identityBody(value) {
    value = value.trim().toUpperCase();
    return value.length > 6 ? { id_full: value, id_last6: "" } : { id_last6: value, id_full: "" };
  }

  function identity(form) {
    var body = identityBody(form.id.value);
    form.reset();
    body.code = state.code;
    call("POST", "pickups/identity", body).then(function () {
      state.identity = body;
      say(UI.identity_ok, "ok");
      renderItems();
      showStage("collect", "items");
    }, fail);
  }

  function scan(form) {
    var code = form.barcode.value.trim();
    form.reset();
    if (!code) { if (renderItems()) confirm(); return; }
    state.scans[code] = (state.scans[code] || 0) + 1;
    renderItems();
  }

  function unscan(code) {
    if (!state.scans[code]) return;
    state.scans[code] -= 1;
    if (!state.scans[code]) delete state.scans[code];
    renderItems();
    say("");
    focusScan();
  }

  function confirm() {
    if (state.busy || !renderItems()) return;
    state.busy = true;
    var barcodes = [];
    Object.keys(state.scans).forEach(function (code) {
      for (var i = 0; i < state.scans[code]; i++) barcodes.push(code);
    });
    var body = { code: state.code, id_last6: state.identity.id_last6, id_full: state.identity.id_full, barcodes: barcodes };
    call("POST", "pickups/handover", body).then(function (result) {
      state.busy = false;
      var receipt = document.querySelector("#collect [data-stage=receipt]");
      fill(receipt, result);
      var tbody = receipt.querySelector("tbody");
      tbody.innerHTML = "";
      result.items.forEach(function (item) {
        var tr = document.createElement("tr");
        [itemName(item), item.quantity].forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
        tbody.appendChild(tr);
      });
      showJourney(result.journey);
      say(result.already ? UI.already : UI.handed_over, "ok");
      showStage("collect", "receipt");
    }, function (e) { state.busy = false; fail(e); });
  }

  /* --- 1-4 Walk-in ------------------------------------------------------------------------ */
  function register(form, existing) {
    var body = { real_name: form.real_name.value.trim(), resident_id: form.resident_id.value.trim().toUpperCase(), mobile: form.mobile.value.trim() };
    var next = function (name, masked) {
      state.shopper = { name: name, masked_id: masked, resident_id: body.resident_id };
      form.reset();
      fill(document.querySelector("#walkin [data-stage=order]"), { walkin_name: name, walkin_masked_id: masked });
      showStage("walkin", "order");
    };
    if (existing) { if (body.resident_id) next(body.real_name, mask(body.resident_id)); return; }
    // On a refusal the form keeps what was typed: correct one field, not all three.
    call("POST", "walkin/shoppers", body).then(function (shopper) {
      say(UI.registered + ": " + shopper.real_name + " " + shopper.masked_id, "ok");
      next(shopper.real_name, shopper.masked_id);
    }, fail);
  }

  function renderCart(preview) {
    var stage = document.querySelector("#walkin [data-stage=order]");
    var body = stage.querySelector(".cart tbody");
    body.innerHTML = "";
    stage.querySelector(".cart tfoot").hidden = !preview;
    stage.querySelector(".cart-empty").hidden = !!preview;
    stage.querySelector("[data-action=place]").disabled = !preview || (preview.problems || []).length > 0;
    var problems = stage.querySelector(".problems");
    problems.innerHTML = "";
    if (!preview) return;
    preview.lines.forEach(function (line) {
      var tr = document.createElement("tr");
      cell(tr, itemName(line));
      cell(tr, yuan(line.unit_price), "num");
      cell(tr, line.quantity, "num");
      cell(tr, yuan(line.value), "num");
      cell(tr, yuan(line.tax), "num");
      cell(tr, removeButton("unshelf", line.barcode, itemName(line)));
      body.appendChild(tr);
    });
    stage.querySelectorAll("[data-total]").forEach(function (td) { td.textContent = yuan(preview[td.dataset.total]); });
    (preview.problems || []).forEach(function (text) {
      var li = document.createElement("li"); li.textContent = text; problems.appendChild(li);
    });
  }
  function price(barcodes) {
    if (!barcodes.length) { state.cart = []; renderCart(null); return Promise.resolve(); }
    return call("POST", "walkin/cart", { resident_id: state.shopper ? state.shopper.resident_id : "", barcodes: barcodes }).then(function (preview) {
      state.cart = barcodes;
      renderCart(preview);
    });
  }
  function shelf(form) {
    var code = form.barcode.value.trim();
    form.reset();
    if (!code) return;
    // Priced at once: an unknown barcode is refused now, not when the order is placed.
    // Scans queue one after another, so a fast scanner never loses a unit.
    queue(function () {
      return price(state.cart.concat([code])).then(function () { say(""); }, function (e) {
        say(e.data && e.data.code === "barcode_unknown" ? UI.unknown_barcode + " " + code + ": " + e.message : e.message, "error");
        focusScan();
      });
    });
  }
  function unshelf(code) {
    queue(function () {
      var at = state.cart.lastIndexOf(code);
      if (at < 0) return null;
      var rest = state.cart.slice(0, at).concat(state.cart.slice(at + 1));
      return price(rest).then(function () { say(""); focusScan(); }, fail);
    });
  }
  function queue(step) {
    var mine = state;
    state.queue = (state.queue || Promise.resolve()).then(function () {
      return mine === state ? step() : null;  // dropped after a reset
    });
  }
  function place() {
    if (!state.cart.length || state.busy || !state.shopper) return;
    state.busy = true;
    call("POST", "walkin/orders", { resident_id: state.shopper.resident_id, barcodes: state.cart }).then(function (orders) {
      state.busy = false;
      var box = root.querySelector(".pay-orders");
      box.innerHTML = "";
      orders.forEach(function (o) {
        var div = document.createElement("div");
        div.className = "pay-order";
        div.dataset.orderNo = o.order_no;
        var qr = document.createElement("div"); qr.className = "qr"; qr.innerHTML = o.pay_qr_svg;
        var h = document.createElement("h2"); h.textContent = o.order_no;
        var side = document.createElement("div"); side.className = "pay-side";
        var label = document.createElement("p"); label.className = "amount-label"; label.textContent = UI.to_pay;
        var amount = document.createElement("p"); amount.className = "amount"; amount.textContent = yuan(o.total);
        var tax = document.createElement("p"); tax.className = "amount-tax"; tax.textContent = UI.incl_tax + " " + yuan(o.tax_total);
        var st = document.createElement("p"); st.className = "state"; st.textContent = UI.waiting;
        var code = document.createElement("p"); code.className = "pickup-code"; code.textContent = o.pickup_code; code.hidden = true;
        side.append(label, amount, tax, st, code);
        var body = document.createElement("div"); body.className = "pay-body";
        body.append(qr, side);
        div.append(h, body);
        box.appendChild(div);
      });
      showStage("walkin", "pay");
      poll(orders.map(function (o) { return o.order_no; }));
    }, function (e) { state.busy = false; fail(e); });
  }
  function poll(numbers) {
    state.poll = setInterval(function () {
      numbers.forEach(function (no) {
        call("GET", "orders/" + encodeURIComponent(no)).then(function (order) {
          var div = root.querySelector('.pay-order[data-order-no="' + no + '"]');
          if (!div) return;
          showJourney(order.journey);
          var released = order.state === "released";
          div.querySelector(".state").textContent = released ? UI.ready : UI.waiting + " · " + order.state_display;
          div.querySelector(".pickup-code").hidden = !released;
          if (released && !div.classList.contains("ready")) {
            div.classList.add("ready");
            var go = document.createElement("button");
            go.type = "button";
            go.className = "primary";
            go.dataset.action = "collect-now";
            go.dataset.code = div.querySelector(".pickup-code").textContent;
            go.textContent = UI.collect_now;
            div.appendChild(go);
            go.focus();
          }
        }, function () {});
      });
    }, POLL_MS);
  }

  /* --- Wiring ----------------------------------------------------------------------------- */
  root.addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var actions = { lookup: lookup, identity: identity, scan: scan, shelf: shelf };
    if (!form.dataset.action) return;
    if (form.dataset.action === "register") {
      var existing = event.submitter && event.submitter.name === "existing";
      register(form, existing);
    } else if (actions[form.dataset.action]) actions[form.dataset.action](form);
  });
  root.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.mode) setMode(button.dataset.mode);
    else if (button.dataset.action === "confirm") confirm();
    else if (button.dataset.action === "reset") reset();
    else if (button.dataset.action === "print") window.print();
    else if (button.dataset.action === "place") place();
    else if (button.dataset.action === "unscan") unscan(button.dataset.barcode);
    else if (button.dataset.action === "unshelf") unshelf(button.dataset.barcode);
    else if (button.dataset.action === "new-shopper") newShopper();
    else if (button.dataset.key) keypad(button.dataset.key);
    else if (button.dataset.action === "collect-now") {
      var code = button.dataset.code;
      setMode("collect");
      var form = document.querySelector("#collect form[data-action=lookup]");
      form.code.value = code;
      lookup(form);
    }
  });
  /* On-screen keypad: types into the input that has (or last had) focus; never takes focus. */
  function keypadTarget() {
    var active = document.activeElement;
    if (active && active.tagName === "INPUT" && active.closest("[data-stage]:not([hidden])")) return active;
    var stage = section().querySelector("[data-stage]:not([hidden])");
    return stage && stage.querySelector("input");
  }
  function keypad(key) {
    var input = keypadTarget();
    if (!input) return;
    if (key === "back") input.value = input.value.slice(0, -1);
    else if (key === "enter") { if (input.form) input.form.requestSubmit(); }
    else input.value += key;
    input.focus();
  }
  root.querySelector(".keypad").addEventListener("mousedown", function (event) { event.preventDefault(); });

  document.addEventListener("keydown", function (event) {
    if (event.key === "F1") { event.preventDefault(); setMode("collect"); }
    else if (event.key === "F2") { event.preventDefault(); setMode("walkin"); }
    else if (event.key === "Escape") { reset(); }
    else if ((event.key === "p" || event.key === "P") && !document.querySelector("#collect [data-stage=receipt]").hidden) {
      event.preventDefault(); window.print();
    }
  });
  // Keep the scanner's input focused: clicks elsewhere must not swallow the next scan.
  document.addEventListener("focusout", function () { setTimeout(focusScan, 50); });
  reset();
})();
