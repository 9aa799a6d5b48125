// The technical check: camera, microphone and speakers checked here; the line tested by the relay over /check/ws
// (docs/signaling-protocol.md, "Technical check"). Plain JavaScript, no build step, for old Chrome/Firefox.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("check-config").textContent);
  var text = config.text;
  var $ = function (id) { return document.getElementById(id); };
  var CAMERA_SECONDS = 3, MIC_SECONDS = 4;

  var stream = null, pc = null, ws = null, audio = null;
  var found = { camera_fps: null, mic_level: null, sound_heard: null, line: false };
  var sent = false;

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) { return values && name in values ? values[name] : all; });
  }

  function show(id, words, good) {
    var element = $(id);
    element.textContent = words;
    element.className = good === undefined ? "" : good ? "good" : "bad";
  }

  function start() {
    $("check-start").disabled = true;
    $("check-verdict").hidden = true;
    $("check-error").hidden = true;
    found = { camera_fps: null, mic_level: null, sound_heard: null, line: false };
    sent = false;
    release();
    openDevices().then(function () {
      countFrames();
      listen();
      testLine();
      playSound();
    });
  }

  // Both at once, else each alone: a blocked microphone must not hide a working camera, nor the other way round.
  function openDevices() {
    var media = navigator.mediaDevices;
    var video = { width: 320, height: 180 };
    if (!media || !media.getUserMedia) return Promise.resolve();
    return media.getUserMedia({ audio: true, video: video }).catch(function () {
      return Promise.all([
        media.getUserMedia({ video: video }).catch(function () { return null; }),
        media.getUserMedia({ audio: true }).catch(function () { return null; })
      ]).then(function (parts) {
        var tracks = [];
        parts.forEach(function (part) { if (part) tracks = tracks.concat(part.getTracks()); });
        return new MediaStream(tracks);
      });
    }).then(function (opened) {
      stream = opened;
      $("check-preview").srcObject = stream;
    });
  }

  function countFrames() {
    var video = $("check-preview"), frames = 0, began = performance.now();
    if (!stream || !stream.getVideoTracks().length) return cameraDone(0);
    function done() { cameraDone(frames / ((performance.now() - began) / 1000)); }
    if (video.requestVideoFrameCallback) {
      var tick = function () { frames++; if (performance.now() - began < CAMERA_SECONDS * 1000) video.requestVideoFrameCallback(tick); };
      video.requestVideoFrameCallback(tick);
      setTimeout(done, CAMERA_SECONDS * 1000);
    } else {
      var before = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
      setTimeout(function () {
        frames = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames - before : 0;
        done();
      }, CAMERA_SECONDS * 1000);
    }
  }

  function cameraDone(fps) {
    found.camera_fps = Math.round(fps * 10) / 10;
    var good = fps >= config.min_camera_fps;  // the server's own threshold (scheduler/readiness.py)
    show("camera-result", good ? say(text.camera_ok, { fps: Math.round(fps) }) : text.camera_none, good);
    maybeFinish();
  }

  function listen() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !stream || !stream.getAudioTracks().length) return micDone(0);
    show("mic-result", text.mic_listening);
    audio = audio || new Context();
    if (audio.resume) audio.resume();
    var analyser = audio.createAnalyser();
    analyser.fftSize = 512;
    var source = audio.createMediaStreamSource(stream);
    source.connect(analyser);
    var samples = new Uint8Array(analyser.fftSize), peak = 0, began = performance.now();
    var timer = setInterval(function () {
      analyser.getByteTimeDomainData(samples);
      var now = 0;
      for (var i = 0; i < samples.length; i++) now = Math.max(now, Math.abs(samples[i] - 128) / 128);
      peak = Math.max(peak, now);
      $("check-level").style.width = Math.min(100, now * 200) + "%";
      if (performance.now() - began > MIC_SECONDS * 1000) {
        clearInterval(timer);
        source.disconnect();
        micDone(peak);
      }
    }, 50);
  }

  function micDone(level) {
    found.mic_level = Math.round(level * 1000) / 1000;
    var good = level >= config.min_mic_level;
    show("mic-result", good ? text.mic_ok : text.mic_none, good);
    maybeFinish();
  }

  function playSound() {
    show("sound-question", text.sound_question);
    $("sound-answers").hidden = false;
    window.giaobanTone();  // page.js
  }

  function heard(yes) {
    found.sound_heard = yes;
    $("sound-answers").hidden = true;
    show("sound-question", yes ? $("check-sound-heard").textContent : $("check-sound-not-heard").textContent, yes);
    maybeFinish();
  }

  // --- the line: our small picture goes to the relay and comes back, padded stage by stage ----------------------

  function checkPicture() {
    var camera = stream && stream.getVideoTracks()[0];
    if (camera) return camera;
    // No camera: a drawn picture stands in, so that the line is tested all the same.
    var canvas = document.createElement("canvas"), frame = 0;
    canvas.width = 320; canvas.height = 180;
    var context = canvas.getContext("2d");
    setInterval(function () {
      context.fillStyle = "#345"; context.fillRect(0, 0, 320, 180);
      context.fillStyle = "#fff"; context.fillRect((frame++ * 8) % 320, 60, 40, 60);
    }, 100);
    return canvas.captureStream(10).getVideoTracks()[0];
  }

  function testLine() {
    $("line-progress").hidden = false;
    $("line-progress").value = 0;
    show("line-result", say(text.line_running, { percent: 0 }));
    pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    var send = pc.addTransceiver("video", { direction: "sendonly" });
    send.sender.replaceTrack(checkPicture());
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.getTransceivers().forEach(function (transceiver) {
      if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
      var codecs = RTCRtpReceiver.getCapabilities("video").codecs.filter(function (c) {
        return ["video/vp8", "video/rtx"].indexOf(c.mimeType.toLowerCase()) >= 0;
      });
      try { transceiver.setCodecPreferences(codecs); } catch (e) { /* the browser's defaults */ }
    });
    var parameters = send.sender.getParameters();
    if (parameters.encodings && parameters.encodings.length) {
      parameters.encodings[0].maxBitrate = 100000;
      send.sender.setParameters(parameters).catch(function () {});
    }
    pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(gathered)
      .then(function () {
        ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/check/ws");
        ws.onopen = function () { ws.send(JSON.stringify({ type: "check", token: config.token, sdp: pc.localDescription.sdp })); };
        ws.onmessage = function (event) { receive(JSON.parse(event.data)); };
        ws.onclose = function () { failed(text.lost); };  // the verdict's handler closes it first
      });
  }

  function gathered() {
    return window.giaobanGathered(pc);  // page.js
  }

  var HANDLERS = {
    answer: function (m) { pc.setRemoteDescription({ type: "answer", sdp: m.sdp }); },
    "line-progress": function (m) {
      var percent = Math.round(m.progress * 100);
      $("line-progress").value = percent;
      show("line-result", say(text.line_running, { percent: percent }));
    },
    "line-result": function (m) {
      found.line = true;
      $("line-progress").value = 100;
      show("line-result", text["line_" + m.level], m.level === "full" || m.level === "small");
      $("line-figures").textContent = say(text.figures, {
        rtt: m.rtt_ms === null ? "—" : Math.round(m.rtt_ms), loss: m.loss === null ? "—" : (m.loss * 100).toFixed(1),
        kbps: m.carried_kbps, uplink: m.uplink_kbps
      });
      maybeFinish();
    },
    "check-verdict": function (m) {
      var box = $("check-verdict");
      box.dataset.verdict = m.verdict;
      box.className = "verdict " + m.verdict;
      $("verdict-summary").textContent = m.summary;
      $("verdict-at").textContent = say(text.checked_at, { time: m.at.slice(11, 16) + " " + m.at.slice(8, 10) + "/" + m.at.slice(5, 7) + "/" + m.at.slice(0, 4) });
      var list = $("verdict-fixes");
      list.textContent = "";
      m.fixes.forEach(function (fix, index) {
        var item = document.createElement("li");
        item.textContent = fix;
        item.dataset.fix = m.fix_keys[index];
        list.appendChild(item);
      });
      box.hidden = false;
      $("check-start").disabled = false;
      release();
    },
    error: function (m) { failed(say(text.failed, { reason: m.message })); }
  };

  function receive(message) {
    var handler = HANDLERS[message.type];
    if (handler) handler(message);
  }

  function maybeFinish() {
    if (sent || !found.line || found.camera_fps === null || found.mic_level === null || found.sound_heard === null) return;
    sent = true;
    ws.send(JSON.stringify({ type: "devices", camera_fps: found.camera_fps, mic_level: found.mic_level,
                             sound_heard: found.sound_heard }));
  }

  function failed(words) {
    if ($("check-verdict").hidden === false) return;
    $("check-error").textContent = words;
    $("check-error").hidden = false;
    $("check-start").disabled = false;
    release();
  }

  function release() {
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    if (pc) { pc.close(); pc = null; }
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    $("check-preview").srcObject = null;
  }

  $("check-start").addEventListener("click", start);
  $("check-sound-heard").addEventListener("click", function () { heard(true); });
  $("check-sound-not-heard").addEventListener("click", function () { heard(false); });
  $("check-sound-again").addEventListener("click", playSound);
})();
