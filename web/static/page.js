// Behaviour every page shares, kept out of the HTML: the Content-Security-Policy allows no inline script or style.
(function () {
  "use strict";

  // <form data-confirm="…">: ask before it is sent.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // A join link in a read-only field: one click selects it for copying; its Copy button copies it (the clipboard
  // API needs HTTPS; on a plain-HTTP office network the selection and execCommand do it).
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input.link")) target.select();
    var button = target.closest && target.closest("button[data-copy]");
    if (!button) return;
    var field = document.querySelector('[data-testid="' + button.getAttribute("data-copy") + '"]');
    var done = function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied");
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done);
    } else {
      field.select();
      if (document.execCommand("copy")) done();
    }
  });

  // A two-second 440 Hz tone, for "do you hear it?" (the join page, the technical check): one audio context a page,
  // made at the person's click (browsers start audio only after a gesture). False where the browser has no audio.
  var toneContext = null;
  window.giaobanTone = function () {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return false;
    toneContext = toneContext || new Context();
    if (toneContext.resume) toneContext.resume();
    var tone = toneContext.createOscillator(), gain = toneContext.createGain();
    tone.frequency.value = 440;
    gain.gain.value = 0.2;
    tone.connect(gain);
    gain.connect(toneContext.destination);
    tone.start();
    tone.stop(toneContext.currentTime + 2);
    return true;
  };

  // The relay does not trickle: an offer goes with every candidate, or after 3 s of waiting for them.
  window.giaobanGathered = function (pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") return resolve();
      var timer = setTimeout(resolve, 3000);
      pc.onicegatheringstatechange = function () {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      };
    });
  };

  // Timelines and charts: positions and sizes, in per cent, from data attributes.
  var sized = document.querySelectorAll("[data-left], [data-width], [data-height]");
  for (var i = 0; i < sized.length; i++) {
    var element = sized[i];
    if (element.hasAttribute("data-left")) element.style.left = element.getAttribute("data-left") + "%";
    if (element.hasAttribute("data-width")) element.style.width = element.getAttribute("data-width") + "%";
    if (element.hasAttribute("data-height")) element.style.height = element.getAttribute("data-height") + "%";
  }
})();
