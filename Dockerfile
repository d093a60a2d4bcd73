# restq: one image for `restq start` (schedules + worker), `restq worker` and the CLI.
# Build: docker build -t restq .   Run: see docker-compose.yml and README "Run in production".

# --- build: compile TypeScript with the dev dependencies, then keep only the runtime ones ---
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; we build below.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle-cli.mjs ./scripts/
COPY src ./src
COPY schema ./schema
RUN npm run build && npm prune --omit=dev --ignore-scripts

# --- runtime: no compiler, no dev dependencies, not root ---
FROM node:22-slim
ENV NODE_ENV=production \
    RESTQ_CONFIG_DIR=/config
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/schema ./schema
# connections.yaml and jobs/ are mounted read-only at /config; outputs (out/) and the standalone
# token state (.restq/) are written below it, so /config belongs to the unprivileged `node` user.
RUN mkdir -p /config/out /config/.restq && chown -R node:node /config
USER node
WORKDIR /config
# SIGTERM reaches node directly (exec form): active runs finish within RESTQ_SHUTDOWN_GRACE.
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["start"]
