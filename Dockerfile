# syntax=docker/dockerfile:1
# mailmon: multi-stage build. The builder compiles TypeScript and the native SQLite driver; the
# runtime image has production dependencies only, runs as a non-root user under tini (so SIGTERM
# reaches node and the daemon drains its checks), and checks its own /healthz.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin mailmon \
  && mkdir -p /app/data && chown mailmon:mailmon /app/data
WORKDIR /app
ENV NODE_ENV=production \
    MAILMON_HTTP_HOST=0.0.0.0 \
    MAILMON_HTTP_PORT=9187 \
    MAILMON_LOG_FORMAT=json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
USER mailmon
# SQLite database and the generated key file live here: mount a volume and back it up.
VOLUME ["/app/data"]
EXPOSE 9187
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MAILMON_HTTP_PORT||9187)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli/index.js"]
CMD ["serve"]
