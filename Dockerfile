# logship in a container: the release binary (Swift runtime and Foundation linked statically)
# on a small Ubuntu image, running as a non-root user.
#
#   docker build --build-arg LOGSHIP_COMMIT=$(git rev-parse --short=12 HEAD) -t logship:0.1.0 .
#   docker run --rm logship:0.1.0 --version
#
# The builder runs scripts/release.sh, the same build as the release archives. The .git folder
# is not sent to the build (.dockerignore), so the commit comes in as a build argument.

FROM swift:6.3-noble AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev zlib1g-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG LOGSHIP_COMMIT=unknown
ARG SOURCE_DATE_EPOCH
RUN LOGSHIP_COMMIT="$LOGSHIP_COMMIT" scripts/release.sh \
    && mkdir /out && tar -xzf dist/logship-*.tar.gz -C /out --strip-components=1

# The same Ubuntu release as the builder, so the glibc the binary was linked against is there.
FROM ubuntu:24.04
# What the static binary still loads (ldd): libstdc++, zlib, libcrypto, and libcurl for
# FoundationNetworking; CA certificates for HTTPS to Azure.
RUN apt-get update && apt-get install -y --no-install-recommends \
        ca-certificates libcurl4t64 libssl3t64 libstdc++6 zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/logship /usr/local/bin/logship
COPY --from=build /out/man/logship.1 /usr/local/share/man/man1/logship.1
# 65532: the conventional "nonroot" id, which the Kubernetes examples' securityContext names.
RUN groupadd --gid 65532 logship \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin logship
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/logship"]
CMD ["--help"]
