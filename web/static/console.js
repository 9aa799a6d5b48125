// The chair's console for a province: 160 rows ordered by the server (raised hands first, in order, then connected,
// lobby, dropped, removed, absent), a search that forgives missing tone marks, filters, counts, the hands list with
// its own "give the floor" buttons, and the roll call's summary. Each update is timed (window.giaobanConsoleTimes).
(function () {
  "use strict";

  var STATE_TEXT = { absent: "absent", lobby: "lobby_state", connected: "connected", dropped: "dropped",
                     removed: "removed" };

  // "Bắc Hà" → "bac ha", as the directory's search does.
  function fold(value) {
    var plain = value.normalize ? value.normalize("NFD").replace(/[\u0300-\u036f]/g, "") : value;
    return plain.replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().trim();
  }

  window.GiaobanConsole = function (options) {
    var config = options.config, text = config.text, send = options.send;
    var $ = function (id) { return document.getElementById(id); };
    var body = $("endpoints");
    var rows = {};
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-unit]"), function (row) { rows[row.dataset.unit] = row; });
    var order = "";
    var last = null;
    var times = window.giaobanConsoleTimes = [];

    function nameOf(unit) { return config.names[unit] || unit; }

    function drawRow(e) {
      var row = rows[e.unit];
      if (!row) return;
      row.dataset.state = e.state;
      row.dataset.hand = e.hand ? "1" : "0";
      row.dataset.floor = e.floor ? "1" : "0";
      row.dataset.muted = e.muted ? "1" : "0";
      row.dataset.presenting = e.presenting ? "1" : "0";
      row.querySelector(".state").textContent = text[STATE_TEXT[e.state]] + (e.answered ? " · " + text.answered : "");
      var here = e.state === "connected";
      Array.prototype.forEach.call(row.querySelectorAll("button[data-action]"), function (button) {
        var action = button.dataset.action;
        if (action === "let-back") { button.hidden = e.state !== "removed"; return; }
        button.disabled = !here;
        if (action === "kick") button.hidden = e.state === "removed";
        if (action === "mute") button.textContent = e.muted ? text.unmute_unit : text.mute_unit;
      });
    }

    function drawHands(endpoints, names) {
      var list = $("hands-list");
      list.innerHTML = "";
      endpoints.filter(function (e) { return e.hand; }).forEach(function (e) {
        var item = document.createElement("li");
        item.dataset.testid = "hand-" + e.unit;
        var who = document.createElement("span");
        who.textContent = nameOf(e.unit) + (names[e.unit] ? " — " + names[e.unit] : "");
        var give = document.createElement("button");
        give.type = "button";
        give.className = "primary";
        give.dataset.testid = "hand-give-floor-" + e.unit;
        give.textContent = text.give_floor;
        give.addEventListener("click", function () { send({ type: "give-floor", unit: e.unit }); });
        item.appendChild(who);
        item.appendChild(give);
        list.appendChild(item);
      });
      $("no-hands").hidden = list.children.length > 0;
    }

    function drawRollCall(m, rollCall) {
      var summary = $("roll-call-summary");
      summary.hidden = !rollCall;
      if (!rollCall) return;
      var here = m.endpoints.filter(function (e) { return e.state === "connected" && e.unit !== config.unit; });
      var missing = here.filter(function (e) { return !e.answered; }).map(function (e) { return nameOf(e.unit); });
      $("roll-call-count").textContent = text.roll_call_count.replace("{answered}", here.length - missing.length)
        .replace("{total}", here.length);
      $("roll-call-missing").textContent = missing.length ? text.roll_call_missing.replace("{units}", missing.join(", "))
        : text.roll_call_done;
    }

    function filter() {
      var query = fold($("console-search").value);
      var wanted = $("console-filter").value;
      var shown = 0;
      Object.keys(rows).forEach(function (unit) {
        var row = rows[unit];
        var matches = (!query || row.dataset.search.indexOf(query) >= 0) &&
          (!wanted || (wanted === "hand" ? row.dataset.hand === "1" : row.dataset.state === wanted));
        row.hidden = !matches;
        if (matches) shown += 1;
      });
      $("no-match").hidden = shown > 0;
    }

    function draw(m, state) {
      var started = window.performance ? performance.now() : Date.now();
      last = m;
      m.endpoints.forEach(drawRow);
      var now = m.endpoints.map(function (e) { return e.unit; }).join(" ");
      if (now !== order) {  // moving 160 rows costs a layout: only when the order changed
        order = now;
        m.endpoints.forEach(function (e) { if (rows[e.unit]) body.appendChild(rows[e.unit]); });
      }
      var c = m.counts;
      $("console-counts").textContent = text.counts.replace("{connected}", c.connected).replace("{invited}", c.invited)
        .replace("{hands}", c.hands).replace("{dropped}", c.dropped).replace("{lobby}", c.lobby);
      drawHands(m.endpoints, state ? state.names : {});
      drawRollCall(m, state && state.roll_call);
      var captions = document.querySelectorAll("#grid figcaption");
      for (var i = 0; i < captions.length; i++) captions[i].textContent = m.grid[i] ? nameOf(m.grid[i]) : "";
      $("grid-page").textContent = text.page.replace("{page}", m.grid_page + 1).replace("{pages}", m.grid_pages);
      $("grid-page").dataset.page = m.grid_page;
      $("grid-page").dataset.pages = m.grid_pages;
      filter();
      times.push((window.performance ? performance.now() : Date.now()) - started);
      if (times.length > 1000) times.shift();
    }

    $("console-search").addEventListener("input", filter);
    $("console-filter").addEventListener("change", filter);
    body.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (!button || button.disabled) return;
      var row = button.closest("tr");
      var unit = row.dataset.unit, action = button.dataset.action;
      if (action === "mute") {
        send({ type: "mute", unit: unit, muted: row.dataset.muted !== "1" });
      } else if (action === "kick") {
        options.ask(text.confirm_kick.replace("{unit}", nameOf(unit)), text.confirm_kick_yes).then(function (yes) {
          if (yes) send({ type: "kick", unit: unit });
        });
      } else {
        send({ type: action, unit: unit });
      }
    });
    $("roll-call-close").addEventListener("click", function () { send({ type: "end-roll-call" }); });

    return {
      draw: draw,
      redraw: function (state) { if (last) draw(last, state); }
    };
  };
})();
