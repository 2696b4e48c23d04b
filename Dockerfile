# The ftp-ingest worker (and CLI) as an image. Build: docker build -t ftp-ingest .
# Stage 1 installs every dependency, compiles src/ to lib/ and prebuilds the workflow bundle; stage 2 has
# production dependencies only, the sources, lib/ (what bin/ftp-ingest.js runs) and the bundle, and runs as the
# unprivileged `node`.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts scripts/build.js ./scripts/
RUN node scripts/build.js && node --import tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY scripts/build.js ./scripts/
COPY src ./src
COPY examples ./examples
COPY --from=build /app/lib ./lib
COPY --from=build /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
RUN mkdir -p /var/lib/ftp-ingest && chown node:node /var/lib/ftp-ingest
ENV FTP_INGEST_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    FTP_INGEST_METRICS_HOST=0.0.0.0 \
    FTP_INGEST_METRICS_PORT=9464 \
    FTP_INGEST_WORK_DIR=/var/lib/ftp-ingest/work \
    FTP_INGEST_PROCESSED_DIR=/var/lib/ftp-ingest/processed
USER node
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The worker's memory settings (src/worker/memory.ts: WORKER_NODE_FLAGS, WORKER_ENV; docs/PERFORMANCE.md).
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=256", "bin/ftp-ingest.js"]
CMD ["worker"]
