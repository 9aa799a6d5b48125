// The meeting's chat panel: questions to the chair, the chair's answers to one unit or to everyone.
// Every text is put in with textContent: a name or a message with markup shows as text and runs nothing.
(function () {
  "use strict";

  window.GiaobanChat = function (options) {
    var config = options.config, text = config.text, send = options.send;
    var $ = function (id) { return document.getElementById(id); };
    var list = $("chat-messages");
    var to = config.protocol.chat_to;

    function nameOf(unit) { return config.names[unit] || unit; }

    function recipient(message) {
      if (message.to === to.everyone) return text.to_everyone;
      if (message.to === to.chair) return text.to_chair;
      return text.to_unit.replace("{unit}", nameOf(message.to));
    }

    function add(message) {
      var item = document.createElement("li");
      item.className = "chat-message" + (message.from === config.unit ? " mine" : "");
      item.dataset.testid = "chat-message";
      item.dataset.from = message.from;
      item.dataset.to = message.to;
      var head = document.createElement("p");
      head.className = "chat-head";
      var time = document.createElement("time");
      time.dateTime = message.at;
      time.textContent = message.at.substring(11, 16);  // the server sends Vietnam time
      var who = document.createElement("strong");
      who.textContent = nameOf(message.from) + (message.name ? " (" + message.name + ")" : "");
      var whom = document.createElement("span");
      whom.className = "chat-to";
      whom.textContent = recipient(message);
      head.appendChild(time);
      head.appendChild(document.createTextNode(" "));
      head.appendChild(who);
      head.appendChild(document.createTextNode(" "));
      head.appendChild(whom);
      var body = document.createElement("p");
      body.className = "chat-text";
      body.textContent = message.text;
      item.appendChild(head);
      item.appendChild(body);
      if (config.role === "chair" && message.from !== config.unit) {
        var reply = document.createElement("button");
        reply.type = "button";
        reply.textContent = text.reply;
        reply.addEventListener("click", function () {
          $("chat-to").value = message.from;
          $("chat-input").focus();
        });
        head.appendChild(reply);
      }
      list.appendChild(item);
      list.scrollTop = list.scrollHeight;
    }

    function showError(message) {
      $("chat-error").textContent = message;
      $("chat-error").hidden = !message;
    }

    $("chat-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = $("chat-input").value.trim();
      if (!value) return;
      showError("");
      send({ type: "chat", text: value, to: $("chat-to").value });
      $("chat-input").value = "";
    });
    $("chat-input").addEventListener("keydown", function (event) {  // Enter sends; Shift+Enter breaks the line
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        $("chat-form").requestSubmit ? $("chat-form").requestSubmit() : $("chat-send").click();
      }
    });

    return {
      message: add,
      history: function (messages) {
        list.innerHTML = "";
        messages.forEach(add);
      },
      error: showError
    };
  };
})();
