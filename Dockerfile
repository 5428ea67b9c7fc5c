# syntax=docker/dockerfile:1
# The learnpath operator as a static (musl) binary on distroless/static, running as the
# non-root user 65532. Build: `make image` (docker or podman), or
#   docker build -t learnpath:dev .
# The chart's securityContext (runAsNonRoot, runAsUser 65532, readOnlyRootFilesystem, no
# capabilities) matches this image: it needs no writable path and no privileges.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
# musl-gcc compiles ring's C and assembly for the musl target.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /src
# .dockerignore admits only what the binary is built from.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    export "CC_$(uname -m)_unknown_linux_musl=musl-gcc" CARGO_PROFILE_RELEASE_STRIP=symbols; \
    cargo build --release --locked --bin learnpath --target "$target"; \
    cp "target/$target/release/learnpath" /learnpath; \
    /learnpath --version

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="learnpath" \
      org.opencontainers.image.description="Kubernetes operator: personal, weighted, prerequisite-respecting learning roadmaps" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/learnpath/learnpath"
COPY --from=build --chown=0:0 --chmod=0555 /learnpath /learnpath
# Numeric, so that the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/learnpath"]
CMD ["run"]
