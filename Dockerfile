# syntax=docker/dockerfile:1
# gitlab-aws-operator: multi-stage build on Node.js 24 LTS.
#   docker build -t gitlab-aws-operator .
#   docker run --read-only gitlab-aws-operator help
# The container runs `gitlab-aws-operator run` (the command the tests run as
# `node src/cli.ts run`); the Helm chart runs the same binary by name with
# command ["gitlab-aws-operator", "run"] and the flags as args.
#
# The bases are build arguments so that a machine that cannot pull them can
# build its own (scripts/image.sh does, from Debian's packages and Node.js from
# the npm registry; docs/image.md). Everyone else gets these, pinned by digest
# (the multi-arch index), on the same Debian release, so the node binary copied
# from the first runs on the second.
ARG NODE_IMAGE=docker.io/library/node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-20260918-slim@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251

# --- build: all dependencies, the operator bundled into dist/ -----------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN npm run build

# --- runtime: the node binary and dist/ only ------------------------------------
# dist/ is a bundle that carries the code of every dependency it uses
# (scripts/build.ts), so the image needs no node_modules; and it needs neither
# npm, corepack nor yarn, which the node image carries: the runtime stage is
# plain Debian with the one node binary from the build stage.
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
# A small young generation: Node.js would otherwise grow it to 64 MB per
# semi-space under load (docs/bench.md). The chart adds an old-space limit
# that fits the container's memory limit.
ENV NODE_OPTIONS="--max-semi-space-size=2"
# Two glibc malloc arenas instead of one per thread (up to 16 on 2 cores):
# 13 MB less RSS at 1,000 resources (docs/bench.md).
ENV MALLOC_ARENA_MAX=2
# Allocations of 32 KB and more get their own mapping, returned to the system
# when freed. glibc's default threshold rises with every large free, after
# which V8's parser and compiler zones stay in the heap, fragmented: 18 MB
# more RSS from loading the bundle alone (docs/bench.md).
ENV MALLOC_MMAP_THRESHOLD_=32768
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# package.json: `gitlab-aws-operator version` reads the version from it.
COPY package.json ./
COPY --from=build /src/dist ./dist
# The package's bin, on PATH as in `npm install -g`: dist/cli.cjs keeps its shebang.
RUN chmod +x /app/dist/cli.cjs && ln -s /app/dist/cli.cjs /usr/local/bin/gitlab-aws-operator
# Nothing is written at runtime: the root filesystem may be read-only
# (securityContext.readOnlyRootFilesystem: true). Logs go to stdout.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["gitlab-aws-operator"]
CMD ["run"]
