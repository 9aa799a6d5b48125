// The join page, the meeting view and the chair console. Plain JavaScript, no build step, for old Chrome/Firefox.
// Protocol: docs/signaling-protocol.md. Media: one RTCPeerConnection; our tracks first, then fixed receiving slots.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("meeting-config").textContent);
  var text = config.text;
  var $ = function (id) { return document.getElementById(id); };
  var NO_RECONNECT = { 1000: true, 4003: true, 4004: true, 4005: true, 4006: true };  // 4006: opened elsewhere

  var local = null;        // MediaStream from the camera and microphone, or null
  var copies = {};         // published picture name → its own copy of the camera track (each size is a sender)
  var ws = null;
  var pc = null;
  var slotTracks = {};     // slot name → MediaStreamTrack
  var slotReceivers = {};  // slot name → RTCRtpReceiver (our own map: expandos on browser objects do not last)
  var senders = {};        // published track name → RTCRtpSender
  var maxKbps = {};        // published video name → the most it may spend, from the welcome
  var sizes = {};          // published video name → [width, height] it is sent at, from the welcome
  var wanted = {};         // published track name → false while nobody receives it (the relay says so)
  var settling = {};       // published track name → the last setParameters, so that the next waits for it
  var attempt = 0;
  var stopped = false;
  var me = { connection: null, name: "", position: "" };
  var lastState = null;
  var linkQuality = "good";  // what the relay last said of our line
  var screen = null;         // the shared screen's track while this page presents

  // --- preview -------------------------------------------------------------------------------------------------

  // The devices the person picked (empty: the browser's default), and the preview of them, which joining publishes.
  var chosen = { camera: "", microphone: "" };

  function startPreview() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showDeviceMessage(text.camera_missing);
      return Promise.resolve();
    }
    if (local) local.getTracks().forEach(function (t) { t.stop(); });  // a camera is held by one stream at a time
    // The chair's picture is everyone's main view: its full size is 1280×720 where the camera can; a commune's
    // largest is 640×360. Smaller sizes are made from the same camera by the encoder (scaleResolutionDownBy).
    var video = config.role === "chair" ? { width: { ideal: 1280 }, height: { ideal: 720 } } : { width: 640, height: 360 };
    if (chosen.camera) video.deviceId = { exact: chosen.camera };
    var audio = chosen.microphone ? { deviceId: { exact: chosen.microphone } } : true;
    $("device-message").hidden = true;
    return navigator.mediaDevices.getUserMedia({ audio: audio, video: video })
      .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: audio }); })
      .then(function (stream) {
        local = stream;
        copies = {};
        $("preview").srcObject = stream;
        meter(stream);
        listDevices(stream);
        if (!stream.getVideoTracks().length) showDeviceMessage(text.camera_missing);
      })
      .catch(function (error) {
        var blocked = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
        showDeviceMessage(blocked ? text.camera_blocked : text.camera_missing);
      });
  }

  // Offer a choice only where there is one (an old PC often has a webcam microphone and a headset too).
  function listDevices(stream) {
    if (!navigator.mediaDevices.enumerateDevices) return;
    navigator.mediaDevices.enumerateDevices().then(function (devices) {
      fillChoice("camera", devices, "videoinput", stream.getVideoTracks()[0]);
      fillChoice("microphone", devices, "audioinput", stream.getAudioTracks()[0]);
    });
  }

  function fillChoice(name, devices, kind, track) {
    var select = $(name + "-select");
    var current = track && track.getSettings ? track.getSettings().deviceId : "";
    var found = devices.filter(function (d) { return d.kind === kind; });
    select.innerHTML = "";
    found.forEach(function (device, index) {
      var option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || text[name].replace("{number}", index + 1);
      option.selected = device.deviceId === current;
      select.appendChild(option);
    });
    $(name + "-choice").hidden = found.length < 2;
  }

  function showDeviceMessage(message) {
    $("device-message").textContent = message;
    $("device-message").hidden = false;
  }

  var meterContext = null, meterSource = null, analyser = null;
  function meter(stream) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !stream.getAudioTracks().length) return;
    if (!meterContext) {
      meterContext = new Context();
      analyser = meterContext.createAnalyser();
      analyser.fftSize = 256;
      var samples = new Uint8Array(analyser.fftSize);
      setInterval(function () {
        analyser.getByteTimeDomainData(samples);
        var peak = 0;
        for (var i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i] - 128));
        $("level").style.width = Math.min(100, peak * 100 / 64) + "%";
      }, 100);
    }
    if (meterSource) meterSource.disconnect();
    meterSource = meterContext.createMediaStreamSource(stream);
    meterSource.connect(analyser);
  }

  // --- signaling ---------------------------------------------------------------------------------------------

  function connect() {
    status(attempt ? text.connecting : text.connecting);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws");
    ws.onopen = function () {
      send({ type: "join", token: config.token, name: me.name, position: me.position, rejoin: attempt > 0 });
    };
    ws.onmessage = function (event) { receive(JSON.parse(event.data)); };
    ws.onclose = function (event) { closed(event.code); };
  }

  function send(message) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(message));
  }

  var handlers = {
    welcome: function (m) { attempt = 0; me.connection = m.connection; negotiate(m); showRoom(); },
    answer: function (m) {
      pc.setRemoteDescription({ type: "answer", sdp: m.sdp }).then(function () {
        Object.keys(senders).forEach(configureSender);
      });
    },
    publish: function (m) { wanted[m.track] = m.on; configureSender(m.track); },
    state: function (m) { lastState = m; drawState(m); },
    console: drawConsole,
    quality: drawQuality,
    "roll-call": function (m) { $("roll-call").hidden = false; $("roll-call").dataset.id = m.id; },
    muted: function (m) { if (m.muted) status(text.muted); },
    link: function (m) {
      linkQuality = m.quality;
      status(text[m.quality]);
      $("link-quality").dataset.quality = m.quality;
      drawPicture();
    },
    bye: function (m) {
      // The server restarts, or this page sent too much: closed() comes back after a pause, as after a lost line.
      if (m.reason === "restarting" || m.reason === "rate_limited") { status(text[m.reason] || ""); return; }
      stopped = true;
      status(text[m.reason] || m.reason);
    },
    error: function (m) {
      if (m.request === "join") { stopped = true; showJoinError(m.message); } else { status(m.message); }
    },
    pong: function () {}
  };

  function receive(message) {
    var handler = handlers[message.type];
    if (handler) handler(message);
  }

  function closed(code) {
    teardownMedia();
    if (stopped || NO_RECONNECT[code]) {
      stopped = true;
      return;
    }
    var seconds = Math.min(10, Math.pow(2, attempt));  // 1, 2, 4, 8, 10, 10 …
    attempt += 1;
    status(text.reconnecting.replace("{seconds}", seconds));
    setTimeout(connect, seconds * 1000);
  }

  function reconnectSoon() {
    if (ws) ws.close(4000);  // not one of ours: closed() backs off and comes back
  }

  // --- media ---------------------------------------------------------------------------------------------------

  function negotiate(welcome) {
    pc = new RTCPeerConnection({ iceServers: welcome.ice_servers, bundlePolicy: "max-bundle" });
    senders = {};
    wanted = {};
    settling = {};
    maxKbps = welcome.max_kbps || {};
    sizes = welcome.sizes || {};
    welcome.publishes.forEach(function (name) {
      var transceiver = pc.addTransceiver(name === "audio" ? "audio" : "video", { direction: "sendonly" });
      senders[name] = transceiver.sender;
      var track = localTrack(name);
      if (track) transceiver.sender.replaceTrack(track);
    });
    slotTracks = {};
    slotReceivers = {};
    welcome.slots.forEach(function (name) {
      var transceiver = pc.addTransceiver(name.indexOf("audio") >= 0 ? "audio" : "video", { direction: "recvonly" });
      slotTracks[name] = transceiver.receiver.track;
      slotReceivers[name] = transceiver.receiver;
    });
    preferRelayCodecs();
    attachSlots();
    pc.oniceconnectionstatechange = function () {
      if (pc && pc.iceConnectionState === "failed") reconnectSoon();
    };
    pc.createOffer()
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(gathered)
      .then(function () { send({ type: "offer", sdp: pc.localDescription.sdp }); });
  }

  // The relay forwards VP8 and Opus as they are: offering only those keeps the offer small (20 m-lines for a
  // chair) and makes every publisher send what every subscriber can decode.
  function preferRelayCodecs() {
    if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    var wanted = { audio: ["audio/opus"], video: ["video/vp8", "video/rtx"] };
    pc.getTransceivers().forEach(function (transceiver) {
      if (!transceiver.setCodecPreferences) return;
      var kind = transceiver.receiver.track.kind;
      var codecs = RTCRtpReceiver.getCapabilities(kind).codecs.filter(function (c) {
        return wanted[kind].indexOf(c.mimeType.toLowerCase()) >= 0;
      });
      try { transceiver.setCodecPreferences(codecs); } catch (e) { /* keep the browser's defaults */ }
    });
  }

  function localTrack(name) {
    if (name === "screen") return screen;  // nothing until this page presents
    if (!local) return null;
    if (name === "audio") return local.getAudioTracks()[0] || null;
    var camera = local.getVideoTracks()[0];
    if (!camera) return null;
    if (name === "video") return camera;
    if (!copies[name]) copies[name] = camera.clone();  // a smaller size for weak lines: the relay picks per line
    return copies[name];
  }

  // How much smaller than the camera a size is sent (1: as captured).
  function scaleFor(name) {
    var camera = local && local.getVideoTracks()[0];
    var settings = camera && camera.getSettings ? camera.getSettings() : {};
    var size = sizes[name];
    if (!size || !settings.width) return 1;
    return Math.max(1, settings.width / size[0]);
  }

  // A commune's uplink is shared: what its picture takes, its voice loses. So each picture has a cap, and a track
  // nobody receives (most communes' pictures, every voice but the floor's) is not sent at all. Encodings exist
  // once negotiated; one change at a time per sender, as browsers require.
  function configureSender(name) {
    var sender = senders[name];
    if (!sender || !sender.getParameters || !sender.setParameters) return;  // an old browser sends everything
    settling[name] = (settling[name] || Promise.resolve()).then(function () {
      var parameters = sender.getParameters();
      if (!parameters.encodings || !parameters.encodings.length) return;  // not negotiated yet: the answer calls again
      if (maxKbps[name]) parameters.encodings[0].maxBitrate = maxKbps[name] * 1000;
      if (sizes[name]) parameters.encodings[0].scaleResolutionDownBy = scaleFor(name);
      parameters.encodings[0].active = wanted[name] !== false;
      return sender.setParameters(parameters);
    }).catch(function () { /* an old browser: it keeps sending as it did */ });
  }

  function gathered() {
    // The relay does not trickle: send one offer with every candidate, or give up waiting after 3 s.
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") return resolve();
      var timer = setTimeout(resolve, 3000);
      pc.onicegatheringstatechange = function () {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      };
    });
  }

  function play(element, tracks) {
    var live = tracks.filter(function (t) { return t; });
    element.srcObject = live.length ? new MediaStream(live) : null;
    var started = element.play && element.play();
    if (started && started.catch) started.catch(function () {});
  }

  function attachSlots() {
    if (config.role !== "chair") play($("chair-video"), [slotTracks["chair-video"], slotTracks["chair-audio"]]);
    play($("floor-video"), [slotTracks["floor-video"], slotTracks["floor-audio-0"]]);
    play($("presentation-video"), [slotTracks["presentation"]]);
    var extra = $("extra-audio");
    extra.innerHTML = "";
    for (var i = 1; i < 4; i++) {
      var audio = document.createElement("audio");
      audio.autoplay = true;
      extra.appendChild(audio);
      play(audio, [slotTracks["floor-audio-" + i]]);
    }
    if (config.role === "chair") {
      var grid = $("grid");
      grid.innerHTML = "";
      Object.keys(slotTracks).filter(function (n) { return n.indexOf("grid-") === 0; }).forEach(function (name) {
        var figure = document.createElement("figure");
        var video = document.createElement("video");
        video.muted = true;
        video.autoplay = true;
        video.setAttribute("playsinline", "");
        video.dataset.testid = name;
        var caption = document.createElement("figcaption");
        figure.appendChild(video);
        figure.appendChild(caption);
        grid.appendChild(figure);
        play(video, [slotTracks[name]]);
      });
      $("chair-video").srcObject = local;  // the chair sees itself in the big view
    }
  }

  function teardownMedia() {
    if (pc) { pc.oniceconnectionstatechange = null; pc.close(); }
    pc = null;
  }

  // One figure from the RTP statistics of each sender or receiver in ``byName`` (name → RTCRtpSender/Receiver).
  function rtpStats(byName, type, pick) {
    var result = {};
    return Promise.all(Object.keys(byName).map(function (name) {
      return byName[name].getStats().then(function (report) {
        report.forEach(function (s) { if (s.type === type) result[name] = pick(s); });
      });
    })).then(function () { return result; });
  }

  // What tests and the quality indicator read: frames decoded per receiving slot.
  window.giaobanStats = function () {
    if (!pc) return Promise.resolve({});
    return rtpStats(slotReceivers, "inbound-rtp", function (s) {
      return { framesDecoded: s.framesDecoded || 0, packetsReceived: s.packetsReceived || 0,
               packetsLost: s.packetsLost || 0, bytesReceived: s.bytesReceived || 0, frameWidth: s.frameWidth || 0,
               concealedSamples: s.concealedSamples || 0, totalSamplesReceived: s.totalSamplesReceived || 0 };
    });
  };

  // Packets sent per published track: what a paused track stops adding to.
  window.giaobanSent = function () {
    return rtpStats(senders, "outbound-rtp", function (s) { return s.packetsSent || 0; });
  };

  window.giaobanConnection = function () {
    var limits = {}, sending = {};
    Object.keys(senders).forEach(function (name) {
      var encodings = senders[name].getParameters().encodings || [];
      if (encodings.length && encodings[0].maxBitrate) limits[name] = encodings[0].maxBitrate;
      if (encodings.length) sending[name] = encodings[0].active !== false;
    });
    return { socket: ws && ws.readyState, ice: pc && pc.iceConnectionState, attempt: attempt, limits: limits,
             sending: sending, capturing: !!(screen && screen.readyState === "live") };
  };

  var previousBytes = 0;
  function measureLink() {
    if (!pc) return;
    window.giaobanStats().then(function (slots) {
      var received = 0, lost = 0, bytes = 0;
      Object.keys(slots).forEach(function (k) {
        received += slots[k].packetsReceived; lost += slots[k].packetsLost; bytes += slots[k].bytesReceived;
      });
      var kbps = Math.max(0, Math.round((bytes - previousBytes) * 8 / 2000));
      previousBytes = bytes;
      var loss = received + lost ? Math.round(lost * 1000 / (received + lost)) / 10 : 0;
      $("link-quality").textContent = kbps + " kbit/s · " + loss + "%";
    });
  }

  // --- drawing -----------------------------------------------------------------------------------------------

  function status(message) { $("status").textContent = message || ""; }

  function showJoinError(message) {
    $("room").hidden = true;
    $("join-card").hidden = false;
    $("join-error").textContent = message;
    $("join-error").hidden = false;
  }

  function showRoom() {
    $("join-card").hidden = true;
    $("room").hidden = false;
  }

  function nameOf(unit) { return config.names[unit] || unit; }

  function drawState(m) {
    // Notices that last (muted, a weak line) stay under the next state, which comes with any change in the room.
    var notes = [!m.admitted ? text.lobby : m.floor.indexOf(config.unit) >= 0 ? text.you_have_floor : text.in_meeting];
    if (m.muted.indexOf(config.unit) >= 0) notes.push(text.muted);
    if (linkQuality !== "good") notes.push(text[linkQuality]);
    status(notes.join(" "));
    $("recording-banner").hidden = !m.recording;
    if (m.recording_problem && config.role === "chair") {  // stays until the chair records again
      status(text["recording_" + m.recording_problem] || m.recording_problem);
    }
    drawPresentation(m);
    var shown = m.floor.filter(function (u) { return u !== config.unit; });
    $("floor-name").textContent = shown.length ? shown.map(nameOf).join(", ") : text.nobody_has_floor;
    if ($("raise-hand")) {
      var up = m.hands.indexOf(config.unit) >= 0;
      $("raise-hand").setAttribute("aria-pressed", up ? "true" : "false");
    }
    if (m.roll_call === null) $("roll-call").hidden = true;
    if (config.role === "chair") {
      $("lock").setAttribute("aria-pressed", m.locked ? "true" : "false");
      $("discussion").setAttribute("aria-pressed", m.discussion ? "true" : "false");
      $("record").setAttribute("aria-pressed", m.recording ? "true" : "false");
      var hands = $("hands");
      hands.innerHTML = "";
      m.hands.forEach(function (unit) {
        var item = document.createElement("li");
        item.textContent = nameOf(unit) + (m.names[unit] ? " — " + m.names[unit] : "");
        hands.appendChild(item);
      });
    }
  }

  // One presentation at a time: large while it runs; the chair, and whoever holds the floor, may share; the chair
  // may stop anyone's. Another presenter (or the floor taken away) ends this page's capture.
  function drawPresentation(m) {
    var presenter = m.presenter || null;
    var mine = presenter === config.unit;
    if (screen && !mine) stopSharing(false);
    var others = presenter && !mine;
    $("presentation").hidden = !others;
    $("room").classList.toggle("presenting", !!others);
    $("presenter-name").textContent = presenter ? text.presenting.replace("{unit}", nameOf(presenter)) : "";
    var mayShare = config.role === "chair" || m.floor.indexOf(config.unit) >= 0;
    $("share-screen").hidden = !mayShare || mine || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia;
    $("stop-share").hidden = !(mine || (presenter && config.role === "chair"));
    if (mine) status(text.you_present);
  }

  function startSharing() {
    var caps = sizes.screen || [1280, 720];
    navigator.mediaDevices.getDisplayMedia({
      video: { width: { max: caps[0] }, height: { max: caps[1] }, frameRate: { max: 15 } }, audio: false
    }).then(function (stream) {
      screen = stream.getVideoTracks()[0];
      if ("contentHint" in screen) screen.contentHint = "detail";  // text stays sharp; the frame rate gives
      screen.onended = function () { stopSharing(true); };  // the browser's own "stop sharing" button
      if (senders.screen) senders.screen.replaceTrack(screen);
      configureSender("screen");
      send({ type: "share", on: true });
    }).catch(function () { status(text.share_failed); });
  }

  function stopSharing(tell) {
    if (screen) { screen.onended = null; screen.stop(); }
    screen = null;
    if (senders.screen) senders.screen.replaceTrack(null);
    if (tell) send({ type: "share", on: false });
  }

  var STATE_TEXT = { absent: "absent", lobby: "lobby_state", connected: "connected", dropped: "dropped" };

  function drawConsole(m) {
    m.endpoints.forEach(function (e) {
      var row = document.querySelector('[data-unit="' + e.unit + '"]');
      if (!row) return;
      row.dataset.state = e.state;
      row.dataset.hand = e.hand ? "1" : "0";
      row.dataset.floor = e.floor ? "1" : "0";
      row.dataset.muted = e.muted ? "1" : "0";
      row.dataset.presenting = e.presenting ? "1" : "0";
      row.querySelector(".state").textContent = text[STATE_TEXT[e.state]] + (e.answered ? " · " + text.answered : "");
    });
    var captions = document.querySelectorAll("#grid figcaption");
    for (var i = 0; i < captions.length; i++) captions[i].textContent = m.grid[i] ? nameOf(m.grid[i]) : "";
    $("grid-page").textContent = text.page.replace("{page}", m.grid_page + 1).replace("{pages}", m.grid_pages);
    $("grid-page").dataset.page = m.grid_page;
    $("grid-page").dataset.pages = m.grid_pages;
  }

  // Which picture of the chair this page gets, and why: the whole of it, a smaller one because of the line, or
  // none (audio only, because of the line or because the person asked).
  function drawPicture() {
    var element = $("picture-level");
    if (!element || config.role === "chair") return;
    var asked = $("audio-only").getAttribute("aria-pressed") === "true";
    var level = asked ? "asked" : linkQuality;
    element.dataset.level = level;
    element.textContent = text["picture_" + level];
  }

  var LAYER_TEXT = { "video": "layer_full", "video-medium": "layer_medium", "video-small": "layer_small" };

  function drawQuality(m) {
    Object.keys(m.units).forEach(function (unit) {
      var row = document.querySelector('[data-unit="' + unit + '"]');
      var f = m.units[unit];
      if (!row) return;
      row.querySelector(".figures").textContent =
        (f.rtt_ms === null ? "—" : f.rtt_ms + " ms") + " · " + f.loss + "% · " + f.kbps + " kbit/s";
      if (unit === config.unit) return;  // the chair's own line: its console is everything it gets
      var layer = row.querySelector(".layer");
      layer.dataset.layer = f.layer || "none";
      layer.textContent = text[LAYER_TEXT[f.layer] || "layer_none"] + " · ≈" + f.estimate_kbps + " kbit/s";
    });
  }

  // --- buttons -------------------------------------------------------------------------------------------------

  function on(id, handler) { var el = $(id); if (el) el.addEventListener("click", handler); }

  $("join-form").addEventListener("submit", function (event) {
    event.preventDefault();
    me.name = $("join-name").value.trim();
    me.position = $("join-position").value.trim();
    if (!me.name) { showJoinError(text.name_needed); return; }
    $("join-error").hidden = true;
    devicesAsked.then(connect);  // publish the camera and microphone from the first offer, not an empty sender
  });
  on("raise-hand", function () {
    var up = $("raise-hand").getAttribute("aria-pressed") === "true";
    send({ type: up ? "lower-hand" : "raise-hand" });
  });
  on("audio-only", function () {
    var on_ = $("audio-only").getAttribute("aria-pressed") !== "true";
    $("audio-only").setAttribute("aria-pressed", on_ ? "true" : "false");
    send({ type: "audio-only", on: on_ });
    drawPicture();
  });
  on("leave", function () { stopped = true; stopSharing(false); send({ type: "leave" }); });
  on("share-screen", startSharing);
  on("stop-share", function () {
    if (screen) { stopSharing(true); } else { send({ type: "stop-presentation" }); }
  });
  on("presentation-full-screen", function () {
    var video = $("presentation-video");
    if (video.requestFullscreen) video.requestFullscreen();
  });
  on("roll-call-answer", function () {
    send({ type: "roll-call-answer", id: $("roll-call").dataset.id });
    $("roll-call").hidden = true;
  });
  on("take-floor", function () { send({ type: "take-floor" }); });
  on("lock", function () { send({ type: "lock", locked: !(lastState && lastState.locked) }); });
  on("discussion", function () { send({ type: "discussion", open: !(lastState && lastState.discussion) }); });
  on("roll-call-start", function () { send({ type: "roll-call" }); });
  on("record", function () { send({ type: "record", on: !(lastState && lastState.recording) }); });
  on("end-meeting", function () { if (window.confirm(text.confirm_end)) send({ type: "end" }); });
  on("grid-prev", function () { send({ type: "grid-page", page: Math.max(0, +$("grid-page").dataset.page - 1) }); });
  on("grid-next", function () { send({ type: "grid-page", page: +$("grid-page").dataset.page + 1 }); });
  var endpoints = $("endpoints");
  if (endpoints) endpoints.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var unit = button.closest("tr").dataset.unit;
    var action = button.dataset.action;
    if (action === "mute") {
      send({ type: "mute", unit: unit, muted: button.closest("tr").dataset.muted !== "1" });
    } else {
      send({ type: action, unit: unit });
    }
  });

  ["camera", "microphone"].forEach(function (name) {
    $(name + "-select").addEventListener("change", function () {
      chosen[name] = $(name + "-select").value;
      devicesAsked = startPreview();
    });
  });

  setInterval(measureLink, 2000);
  var devicesAsked = startPreview();
})();
