# One image with the relay and the web app it serves:
#   docker build -t vroom . && docker run -p 8080:8080 vroom
# Configure with the VROOM_* variables listed in README.md.

FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN cargo xtask web && cargo build --release --locked -p vroom-relay

FROM debian:bookworm-slim
COPY --from=build /src/target/release/vroom-relay /usr/local/bin/vroom-relay
COPY --from=build /src/web-dist /srv/vroom/web
ENV VROOM_LISTEN=0.0.0.0:8080 \
    VROOM_WEB_DIR=/srv/vroom/web
# The relay needs no privileges and writes nothing to disk.
USER 65534:65534
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
ENTRYPOINT ["vroom-relay"]
