// A minimal Socket.IO room relay, written the way chat tutorials write one: a client
// emits "join" with a room name (acknowledged once joined) and "msg" with a payload,
// which goes to everyone in the sender's room, the sender included. It is the
// comparison point of vroom's benchmarks (bench/ in the repository).
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = createServer();
const io = new Server(httpServer, {
  // WebSocket only, as the load generator connects: no long-polling upgrade dance.
  transports: ["websocket"],
  // No compression: vroom's relay sends its frames uncompressed too.
  perMessageDeflate: false,
  // The load generator sends at most a few hundred bytes per message.
  maxHttpBufferSize: 1e6,
});

io.on("connection", (socket) => {
  let room = null;
  socket.on("join", (name, ack) => {
    room = String(name);
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("msg", (payload) => {
    if (room !== null) io.to(room).emit("msg", payload);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.error(`socket.io peer listening on 127.0.0.1:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
