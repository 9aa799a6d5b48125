"""The WebSocket signaling protocol between browsers and the conference relay."""
