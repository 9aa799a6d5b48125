// Unit trees (the directory page, the invitation picker): search that forgives missing tone marks ("bac ha"
// finds "Bắc Hà"), and in a picker, ticking a district or a cluster ticks everything under it.
// Plain ES5 so that it runs on the old browsers of commune offices.
(function () {
  function fold(text) {
    var lowered = text.toLowerCase().replace(/đ/g, "d");
    return lowered.normalize ? lowered.normalize("NFD").replace(/[\u0300-\u036f]/g, "") : lowered;
  }

  function childOf(element, selector) {
    for (var i = 0; i < element.children.length; i++) {
      if (element.children[i].matches(selector)) return element.children[i];
    }
    return null;
  }

  function attachSearch(tree, input, noMatch) {
    var units = tree.querySelectorAll("li.unit");
    input.addEventListener("input", function () {
      var query = fold(input.value.trim());
      var shown = 0;
      for (var i = 0; i < units.length; i++) {
        var matches = !query || units[i].getAttribute("data-search").indexOf(query) !== -1;
        units[i].setAttribute("data-match", matches ? "1" : "0");
      }
      for (var j = 0; j < units.length; j++) {
        var unit = units[j];
        var inside = unit.querySelector("li[data-match='1']");
        var visible = !query || unit.getAttribute("data-match") === "1" || inside;
        unit.hidden = !visible;
        if (visible) shown++;
        var details = childOf(unit, "details");
        if (details && query && inside) details.open = true;
      }
      if (noMatch) noMatch.hidden = shown !== 0;
    });
  }

  function attachCascade(tree) {
    tree.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.matches("input[type=checkbox]")) return;
      var unit = box.closest("li.unit");
      var below = unit.querySelectorAll("li.unit input[type=checkbox]");
      for (var i = 0; i < below.length; i++) if (below[i] !== box) below[i].checked = box.checked;
      var counter = document.querySelector("[data-picked-count]");
      if (counter) counter.textContent = tree.querySelectorAll("input[type=checkbox]:checked").length;
    });
  }

  var trees = document.querySelectorAll("[data-tree]");
  for (var t = 0; t < trees.length; t++) {
    var tree = trees[t];
    var input = document.getElementById(tree.getAttribute("data-tree"));
    if (input) attachSearch(tree, input, document.getElementById(tree.getAttribute("data-tree") + "-none"));
    if (tree.hasAttribute("data-picker")) attachCascade(tree);
  }
})();
