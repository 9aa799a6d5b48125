// Filter the directory tree as the user types. Tone marks are optional: "bac ha" finds "Bắc Hà".
// Plain ES5 so that it runs on the old browsers of commune offices.
(function () {
  var input = document.getElementById("unit-search");
  var tree = document.getElementById("unit-tree");
  if (!input || !tree) return;
  var units = tree.querySelectorAll("li.unit");
  var noMatch = document.getElementById("no-match");

  function fold(text) {
    var lowered = text.toLowerCase().replace(/đ/g, "d");
    return lowered.normalize ? lowered.normalize("NFD").replace(/[\u0300-\u036f]/g, "") : lowered;
  }

  function filter() {
    var query = fold(input.value.trim());
    var shown = 0;
    for (var i = 0; i < units.length; i++) {
      var li = units[i];
      var match = !query || li.getAttribute("data-search").indexOf(query) !== -1;
      li.setAttribute("data-match", match ? "1" : "0");
    }
    for (var j = 0; j < units.length; j++) {
      var unit = units[j];
      var visible = !query || unit.getAttribute("data-match") === "1" || unit.querySelector("li[data-match='1']");
      unit.hidden = !visible;
      if (visible) shown++;
      var details = unit.querySelector(":scope > details");
      if (details && query && unit.querySelector("li[data-match='1']")) details.open = true;
    }
    if (noMatch) noMatch.hidden = shown !== 0;
  }

  input.addEventListener("input", filter);
})();
