// A minimal uWebSockets.js room relay: the ceiling of vroom's benchmarks, what a C++
// WebSocket server driven from Node reaches when JavaScript does next to nothing per
// message. It does the job of the Socket.IO peer beside it (bench/peers/socketio) with
// uWS's native pub/sub, so fan-out happens in C++ without a JavaScript loop per member.
//
// Protocol, binary messages only, on any path:
// - the first message a client sends is the room's name (1 to 64 bytes); the relay
//   subscribes the client to it and answers with an empty message once it has;
// - every later message is a payload, published unchanged to every member of the
//   room, the sender included (as vroom and the Socket.IO peer do).
"use strict";

const uWS = require("@trufflesuite/uws-js-unofficial");

// The package falls back to a JavaScript implementation (on the `ws` library) when its
// native build does not load; measuring that would not be measuring uWS at all.
const native = Object.keys(require.cache).some((f) => /[\\/]uws_[^\\/]+\.node$/.test(f));
if (!native) {
  console.error("uws peer: the native uWebSockets.js build did not load; refusing to run");
  process.exit(1);
}

const port = Number(process.env.PORT || 3000);

/** Longest room name accepted, bytes (the load generator sends 16 random bytes). */
const MAX_ROOM_NAME = 64;

const app = uWS.App();

app.ws("/*", {
  // No compression: vroom's relay sends its frames uncompressed too.
  compression: uWS.DISABLED,
  // 65 KiB: vroom's largest accepted message (a 64 KiB payload plus framing). The load
  // generator sends a few hundred bytes per message.
  maxPayloadLength: 64 * 1024 + 1024,
  // 512 KiB queued for one client before it counts as too slow: about vroom's send queue
  // of 1,024 chat-sized frames. Past it uWS drops the client's copy of a message, so
  // close instead (vroom disconnects a lagging member too): an overrun then shows in the
  // load generator's report as errors, not as silently missing deliveries.
  maxBackpressure: 512 * 1024,
  closeOnBackpressureLimit: true,
  // uWS's defaults, stated: a client silent for 120 s is pinged, then closed; the load
  // generator's WebSocket library answers pings by itself.
  idleTimeout: 120,
  sendPingsAutomatically: true,

  open: (ws) => {
    ws.getUserData().room = null;
  },

  message: (ws, message, isBinary) => {
    const data = ws.getUserData();
    if (data.room !== null) {
      // `app.publish`, not `ws.publish`: the latter skips the sender.
      app.publish(data.room, message, isBinary, false);
      return;
    }
    if (message.byteLength === 0 || message.byteLength > MAX_ROOM_NAME) {
      ws.end(1008, "a room name of 1 to 64 bytes first");
      return;
    }
    // `message` is only valid during this call: keep the name as a string.
    data.room = Buffer.from(message).toString("hex");
    ws.subscribe(data.room);
    ws.send(new ArrayBuffer(0), true, false);
  },
});

app.listen("127.0.0.1", port, (listening) => {
  if (!listening) {
    console.error(`uws peer: could not listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.error(`uws peer listening on 127.0.0.1:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
