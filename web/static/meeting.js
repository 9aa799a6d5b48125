// The join page, the meeting room and the end screens; the chair's console is console.js, the chat chat.js.
// Plain JavaScript, no build step, for old Chrome/Firefox. Protocol: docs/signaling-protocol.md; the close codes,
// slot names and limits come from the server (config.protocol, config.slots). Media: one RTCPeerConnection; our
// tracks first, then fixed receiving slots.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("meeting-config").textContent);
  var text = config.text;
  var SLOT = config.slots;
  var FINAL = config.protocol.final_closes;  // close code → the end screen; the page comes back after any other
  var $ = function (id) { return document.getElementById(id); };

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
  var opened = [];           // every MediaStreamTrack this page opened: all of them end when the meeting does
  var devices = { mic: true, camera: true };  // what the person switched on (before joining, and in the room)
  var phase = "joining";     // joining → connecting → in, or reconnecting; "ended" once an end screen shows
  var notice = "";           // the last thing that went wrong (shown under the state, until the next change)
  var ended = null;          // the end screen shown, if any
  var consolePanel = null, chatPanel = null;

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
        if (ended) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
        local = stream;
        copies = {};
        stream.getTracks().forEach(function (t) { opened.push(t); });
        applyDevices();
        $("preview").srcObject = stream;
        $("self-view").srcObject = stream;
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

  var meterContext = null, meterSource = null, analyser = null, meterTimer = null;
  function meter(stream) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !stream.getAudioTracks().length) return;
    if (!meterContext) {
      meterContext = new Context();
      analyser = meterContext.createAnalyser();
      analyser.fftSize = 256;
      var samples = new Uint8Array(analyser.fftSize);
      meterTimer = setInterval(function () {
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

  // The person's switches: a track switched off sends silence or black (the relay forwards nothing it cannot use).
  function applyDevices() {
    var tracks = local ? local.getTracks() : [];
    Object.keys(copies).forEach(function (name) { tracks.push(copies[name]); });
    tracks.forEach(function (t) { t.enabled = t.kind === "audio" ? devices.mic : devices.camera; });
    ["", "preview-"].forEach(function (prefix) {
      toggle(prefix + "mic-toggle", devices.mic, devices.mic ? text.mic_off : text.mic_on);
      toggle(prefix + "camera-toggle", devices.camera, devices.camera ? text.camera_off : text.camera_on);
    });
    drawBanner();
  }

  // A button that switches something: aria-pressed says the state, its words say what pressing it does now.
  function toggle(id, pressed, words) {
    var button = $(id);
    if (!button) return;
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    var label = button.querySelector("span");
    if (label && words) label.textContent = words;
  }

  function playTestSound() {
    if (window.giaobanTone()) showDeviceMessage(text.test_sound);  // page.js
  }

  // Everything the page opened ends at once: the camera's light goes off.
  function releaseDevices() {
    stopSharing(false);
    opened.forEach(function (t) { t.stop(); });
    local = null;
    copies = {};
    ["preview", "self-view"].forEach(function (id) { $(id).srcObject = null; });
    if (meterTimer) clearInterval(meterTimer);
    if (meterContext && meterContext.close) meterContext.close();
    meterContext = null;
    meterTimer = null;
  }

  // --- signaling ---------------------------------------------------------------------------------------------

  function connect() {
    phase = attempt ? "reconnecting" : "connecting";
    drawBanner();
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
    state: function (m) { lastState = m; notice = ""; drawState(m); },
    console: function (m) { if (consolePanel) consolePanel.draw(m, lastState); },
    quality: drawQuality,
    "roll-call": function (m) { $("roll-call").hidden = false; $("roll-call").dataset.id = m.id; },
    muted: function () { drawBanner(); },  // the state that follows says it
    link: function (m) {
      linkQuality = m.quality;
      $("link-quality").dataset.quality = m.quality;
      drawPicture();
      drawBanner();
    },
    chat: function (m) { chatPanel.message(m); },
    "chat-history": function (m) { chatPanel.history(m.messages); },
    bye: function (m) {
      // The server restarts, the relay lost this page's media, or this page sent too much: closed() comes back
      // after a pause, as after a lost line.
      if (m.reason === "restarting" || m.reason === "media_lost" || m.reason === "rate_limited") {
        notice = text[m.reason] || ""; drawBanner(); return;
      }
      if (m.reason !== "refused") finish({ kicked: "removed", ended: "ended", left: "left", replaced: "replaced" }[m.reason] || "left");
    },
    error: function (m) {
      if (m.request === "join") { stopped = true; showJoinError(m.message); }
      else if (m.request === "chat") { chatPanel.error(m.message); }
      else { notice = m.message; drawBanner(); }
    },
    pong: function () {}
  };

  function receive(message) {
    var handler = handlers[message.type];
    if (handler) handler(message);
  }

  function closed(code) {
    teardownMedia();
    var screenName = FINAL[String(code)];
    if (screenName && screenName !== "refused") finish(screenName);  // a refused join stays on its form, told why
    if (stopped || screenName) {
      stopped = true;
      return;
    }
    // 1, 2, 4, 8, 10, 10 … seconds, each spread over half to one and a half times itself: the pages of a node
    // that died do not all come back in the same instant, on a node that now carries them as well as its own
    var seconds = Math.min(10, Math.pow(2, attempt)) * (0.5 + Math.random());
    attempt += 1;
    phase = "reconnecting";
    notice = text.reconnecting.replace("{seconds}", Math.max(1, Math.round(seconds)));
    drawBanner();
    setTimeout(connect, seconds * 1000);
  }

  // One clear end screen: the devices are released, the room's videos and buttons are gone.
  function finish(reason) {
    if (ended) return;
    ended = reason;
    stopped = true;
    phase = "ended";
    releaseDevices();
    teardownMedia();
    Array.prototype.forEach.call(document.querySelectorAll("#room video, #room audio"), function (v) { v.srcObject = null; });
    $("room").hidden = true;
    $("join-card").hidden = true;
    var screen_ = $("end-screen");
    screen_.dataset.reason = reason;
    $("end-title").textContent = text["end_" + reason] || "";
    $("end-text").textContent = text["end_" + reason + "_text"] || "";
    $("rejoin").hidden = reason !== "left";
    screen_.hidden = false;
    $("end-title").focus && $("end-title").setAttribute("tabindex", "-1");
    $("end-title").focus && $("end-title").focus();
  }

  function rejoin() {
    ended = null;
    stopped = false;
    attempt = 0;
    opened = [];
    $("end-screen").hidden = true;
    devicesAsked = startPreview();
    devicesAsked.then(connect);
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
    if (!copies[name]) {  // a smaller size for weak lines: the relay picks per line
      copies[name] = camera.clone();
      copies[name].enabled = devices.camera;
      opened.push(copies[name]);
    }
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
    return window.giaobanGathered(pc);  // page.js
  }

  function play(element, tracks) {
    var live = tracks.filter(function (t) { return t; });
    element.srcObject = live.length ? new MediaStream(live) : null;
    var started = element.play && element.play();
    if (started && started.catch) started.catch(function () {});
  }

  function attachSlots() {
    if ($("chair-video")) play($("chair-video"), [slotTracks[SLOT.chair_video], slotTracks[SLOT.chair_audio]]);
    play($("floor-video"), [slotTracks[SLOT.floor_video], slotTracks[SLOT.floor_audio[0]]]);
    play($("presentation-video"), [slotTracks[SLOT.presentation]]);
    var extra = $("extra-audio");
    extra.innerHTML = "";
    SLOT.floor_audio.slice(1).forEach(function (name) {
      var audio = document.createElement("audio");
      audio.autoplay = true;
      extra.appendChild(audio);
      play(audio, [slotTracks[name]]);
    });
    if (config.role === "chair") {
      var grid = $("grid");
      grid.innerHTML = "";
      SLOT.grid.filter(function (n) { return slotTracks[n]; }).forEach(function (name) {
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
      return { framesDecoded: s.framesDecoded || 0, framesReceived: s.framesReceived || 0,
               packetsReceived: s.packetsReceived || 0,
               retransmittedPacketsReceived: s.retransmittedPacketsReceived || 0,
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

  function showJoinError(message) {
    $("room").hidden = true;
    $("join-card").hidden = false;
    $("join-error").textContent = message;
    $("join-error").hidden = false;
  }

  function showRoom() {
    phase = "in";
    notice = "";
    $("join-card").hidden = true;
    $("room").hidden = false;
    drawBanner();
  }

  function nameOf(unit) { return config.names[unit] || unit; }
  function has(list, unit) { return !!list && list.indexOf(unit) >= 0; }

  // One sentence of what is happening to this page, and under it what else holds (never two that contradict).
  function banner() {
    var m = lastState;
    if (phase === "connecting" || phase === "joining") return ["connecting", text.connecting];
    if (phase === "reconnecting") return ["reconnecting", notice || text.connecting];
    if (!m || !m.admitted) return ["lobby", text.lobby];
    if (has(m.muted, config.unit)) return ["muted", text.muted];
    if (m.presenter === config.unit) return ["presenting", text.you_present];
    if (has(m.floor, config.unit)) return ["floor", devices.mic ? text.you_have_floor : text.floor_mic_off];
    if (has(m.hands, config.unit)) return ["hand", text.hand_raised];
    return ["listening", text.in_meeting];
  }

  function details() {
    var m = lastState || {};
    var notes = [];
    if (phase !== "reconnecting" && notice) notes.push(notice);
    if (m.recording_problem && config.role === "chair") notes.push(text["recording_" + m.recording_problem] || m.recording_problem);
    if (config.role !== "chair" && phase === "in") {
      var asked = $("audio-only").getAttribute("aria-pressed") === "true";
      if (asked) notes.push(text.picture_asked);
      else if (linkQuality !== "good") notes.push(text["picture_" + linkQuality]);
    }
    if (m.discussion) notes.push(text.discussion_open);
    if (!devices.camera) notes.push(text.camera_is_off);
    return notes;
  }

  function drawBanner() {
    var now = banner();
    $("status-banner").dataset.status = now[0];
    $("status").textContent = now[1];
    $("status-detail").textContent = details().join(" · ");
    $("lobby").hidden = now[0] !== "lobby";
    $("room").classList.toggle("in-lobby", now[0] === "lobby");
  }

  function drawState(m) {
    $("recording-banner").hidden = !m.recording;
    drawPresentation(m);
    var shown = m.floor.filter(function (u) { return u !== config.unit; });
    $("floor-name").textContent = shown.length ? shown.map(nameOf).join(", ") : text.nobody_has_floor;
    var up = has(m.hands, config.unit);
    toggle("raise-hand", up, up ? text.hand_down : text.hand_up);
    if (m.roll_call === null) $("roll-call").hidden = true;
    if (config.role === "chair") {
      toggle("lock", m.locked, m.locked ? text.lock_off : text.lock_on);
      toggle("discussion", m.discussion, m.discussion ? text.discussion_off : text.discussion_on);
      toggle("record", m.recording, m.recording ? text.record_off : text.record_on);
      if (consolePanel) consolePanel.redraw(m);
    }
    drawBanner();
  }

  // Before the start time the lobby counts down; after it, it says the chair will open shortly.
  function drawCountdown() {
    var minutes = Math.ceil((new Date(config.starts_at).getTime() - Date.now()) / 60000);
    $("lobby-countdown").textContent = minutes > 0 ? text.countdown.replace("{minutes}", minutes) : text.start_passed;
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
    var mayShare = config.role === "chair" || has(m.floor, config.unit);
    $("share-screen").hidden = !mayShare || mine || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia;
    $("stop-share").hidden = !(mine || (presenter && config.role === "chair"));
  }

  function startSharing() {
    var caps = sizes.screen || [1280, 720];
    navigator.mediaDevices.getDisplayMedia({
      video: { width: { max: caps[0] }, height: { max: caps[1] }, frameRate: { max: 15 } }, audio: false
    }).then(function (stream) {
      screen = stream.getVideoTracks()[0];
      opened.push(screen);
      if ("contentHint" in screen) screen.contentHint = "detail";  // text stays sharp; the frame rate gives
      screen.onended = function () { stopSharing(true); };  // the browser's own "stop sharing" button
      if (senders.screen) senders.screen.replaceTrack(screen);
      configureSender("screen");
      send({ type: "share", on: true });
    }).catch(function () { notice = text.share_failed; drawBanner(); });
  }

  function stopSharing(tell) {
    if (screen) { screen.onended = null; screen.stop(); }
    screen = null;
    if (senders.screen) senders.screen.replaceTrack(null);
    if (tell) send({ type: "share", on: false });
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

  // Ask once before leaving, ending or removing: a modal dialog (window.confirm where there is no <dialog>).
  function ask(question, yes) {
    var dialog = $("confirm");
    if (!dialog.showModal) return Promise.resolve(window.confirm(question));
    $("confirm-text").textContent = question;
    $("confirm-yes").textContent = yes;
    return new Promise(function (resolve) {
      function done(answer) {
        $("confirm-yes").onclick = $("confirm-no").onclick = dialog.oncancel = null;
        dialog.close();
        resolve(answer);
      }
      $("confirm-yes").onclick = function () { done(true); };
      $("confirm-no").onclick = function () { done(false); };
      dialog.oncancel = function () { done(false); };
      dialog.showModal();
      $("confirm-no").focus();
    });
  }

  $("join-form").addEventListener("submit", function (event) {
    event.preventDefault();
    me.name = $("join-name").value.trim();
    me.position = $("join-position").value.trim();
    if (!me.name) { showJoinError(text.name_needed); $("join-name").focus(); return; }
    $("join-error").hidden = true;
    phase = "connecting";
    devicesAsked.then(connect);  // publish the camera and microphone from the first offer, not an empty sender
  });
  ["", "preview-"].forEach(function (prefix) {
    on(prefix + "mic-toggle", function () { devices.mic = !devices.mic; applyDevices(); });
    on(prefix + "camera-toggle", function () { devices.camera = !devices.camera; applyDevices(); });
  });
  on("test-sound", playTestSound);
  on("raise-hand", function () {
    var up = $("raise-hand").getAttribute("aria-pressed") === "true";
    send({ type: up ? "lower-hand" : "raise-hand" });
  });
  on("audio-only", function () {
    var on_ = $("audio-only").getAttribute("aria-pressed") !== "true";
    toggle("audio-only", on_, on_ ? text.audio_only_off : text.audio_only_on);
    send({ type: "audio-only", on: on_ });
    drawPicture();
    drawBanner();
  });
  on("leave", function () {
    ask(text.confirm_leave, text.confirm_leave_yes).then(function (yes) {
      if (!yes) return;
      stopped = true;
      send({ type: "leave" });
      finish("left");
    });
  });
  on("rejoin", rejoin);
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
  on("end-meeting", function () {
    ask(text.confirm_end, text.confirm_end_yes).then(function (yes) { if (yes) send({ type: "end" }); });
  });
  on("grid-prev", function () { send({ type: "grid-page", page: Math.max(0, +$("grid-page").dataset.page - 1) }); });
  on("grid-next", function () { send({ type: "grid-page", page: +$("grid-page").dataset.page + 1 }); });

  ["camera", "microphone"].forEach(function (name) {
    $(name + "-select").addEventListener("change", function () {
      chosen[name] = $(name + "-select").value;
      devicesAsked = startPreview();
    });
  });

  // What tests read: the state of every track the page opened (all "ended" after leaving, removal or the end).
  window.giaobanTracks = function () {
    return opened.map(function (t) { return { kind: t.kind, state: t.readyState, label: t.label }; });
  };

  chatPanel = window.GiaobanChat({ config: config, send: send });
  if (config.role === "chair") consolePanel = window.GiaobanConsole({ config: config, send: send, ask: ask });
  setInterval(measureLink, 2000);
  drawCountdown();
  setInterval(drawCountdown, 15000);
  var devicesAsked = startPreview();
})();
