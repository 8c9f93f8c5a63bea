# Sealdrop's server: the source pages and API, and the editor API on its own port.
#   docker build -t sealdrop .          (or: docker compose build)
# Production runs it through docker-compose.yml; docs/OPERATIONS.md explains both.
#
# No key is in the image, not even the demo one: NEWSROOM_KEY_FILE must be mounted, or the server
# refuses to start. No password either: it comes from a file at run time (PGPASSWORD_FILE).

# The official image, pinned by digest (docs/OPERATIONS.md, "Updates": how to move the pin);
# the pinned image is Node.js 22.23.2. scripts/compose-check.sh passes
# NODE_IMAGE=node:22-bookworm-slim, its local stand-in of that image.
ARG NODE_IMAGE=node:22-bookworm-slim@sha256:48e4b67d85f87bd551df43704e24d252f56cc5f8e9718841aace50f19948f0f9

# All dependencies, for building the client.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
# The commit client/site-manifest.txt names (the build context holds no .git):
#   SEALDROP_COMMIT=$(git rev-parse HEAD) docker compose build   (docs/OPERATIONS.md)
ARG SEALDROP_COMMIT=
COPY . .
RUN npm run build

# Production dependencies only (tsx among them: the server runs its TypeScript through it).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# One unprivileged user; the code belongs to root and is read-only to it. The only places written
# are /data (PGlite, in the trial mode without DATABASE_URL), /spill (arriving chunk bodies, when
# CHUNK_SPILL_DIR names it: docker-compose.yml mounts a volume there, which takes this folder's
# owner and mode) and /tmp (tsx's cache), so the container runs with a read-only root file system
# (docker-compose.yml: read_only, tmpfs /tmp).
RUN groupadd --system --gid 10001 sealdrop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sealdrop \
 && mkdir /data /spill && chown 10001:10001 /data /spill && chmod 700 /data /spill
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
# the CLI (cli/bin.js) reads only this tsconfig.json, never one in the folder it runs from
COPY tsconfig.json ./
COPY protocol ./protocol
COPY server ./server
COPY migrations ./migrations
COPY deploy/app ./deploy/app
COPY --from=build /app/client/dist ./client/dist
# The SHA-256 of every file in client/dist, to publish: docker compose exec app cat client/site-manifest.txt
COPY --from=build /app/client/site-manifest.txt ./client/site-manifest.txt

# MALLOC_*: glibc malloc's settings for the server's memory under uploads (docs/OPERATIONS.md,
# "Memory, and uploads at once": what was measured). At most 2 arenas (the default is 8 per
# core): each thread's arena kept what it had freed. A fixed mmap threshold of 128 KiB: glibc's
# moving one rises with the first large buffer freed, and then the 1-2 MiB buffers of chunk
# slices read back came from the heap between the chunks' small pieces, which kept their
# high-water mark. docker-compose.yml, package.json "start" and `npm run bench` use the same
# values (test/ops/compose.test.ts).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    EDITOR_PORT=8081 \
    DATA_DIR=/data \
    NEWSROOM_KEY_FILE=/run/sealdrop/newsroom.pub.asc \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072
# EDITOR_HOST stays 127.0.0.1 unless set: docker-compose.yml opens it to the Tor container only.
EXPOSE 8080 8081
USER 10001:10001

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "deploy/app/healthcheck.js"]
# The server drains requests in flight on SIGTERM (server/shutdown.ts, at most 25 s): give it
# that long before SIGKILL (docker-compose.yml: stop_grace_period 35s; docker stop -t 35).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/deploy/app/entrypoint.sh"]
# test/ops/start-command.test.ts runs exactly this command on the host: keep it one JSON array.
CMD ["node", "--import", "tsx", "server/main.ts"]
