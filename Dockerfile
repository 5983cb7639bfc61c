# syntax=docker/dockerfile:1
# gitlab-aws-operator: multi-stage build on Node.js 24 LTS.
#   docker build -t gitlab-aws-operator .
#   docker run --read-only gitlab-aws-operator help
# The container runs `gitlab-aws-operator run` (the command the tests run as
# `node src/cli.ts run`); the Helm chart runs the same binary by name with
# command ["gitlab-aws-operator", "run"] and the flags as args.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, TypeScript compiled to dist/ ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and dist/ only ---------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# A small young generation: Node.js would otherwise grow it to 64 MB per
# semi-space under load (docs/bench.md). The chart adds an old-space limit
# that fits the container's memory limit.
ENV NODE_OPTIONS="--max-semi-space-size=2"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && npm cache clean --force \
  && rm -rf /root/.npm /tmp/*
COPY --from=build /src/dist ./dist
# The package's bin, on PATH as in `npm install -g`: dist/cli.js keeps its shebang.
RUN chmod +x /app/dist/cli.js && ln -s /app/dist/cli.js /usr/local/bin/gitlab-aws-operator
# Nothing is written at runtime: the root filesystem may be read-only
# (securityContext.readOnlyRootFilesystem: true). Logs go to stdout.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["gitlab-aws-operator"]
CMD ["run"]
