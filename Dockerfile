# hearth in a container, run the way the seed runs its temporary DHCP/PXE servers:
#
#   docker build -t hearth .
#   docker run --rm -it --network host -v "$PWD":/config -v hearth-state:/state hearth
#
# The default command is `hearth netboot serve -f /config/hearth.yaml --state /state`; paths in
# hearth.yaml (netboot.assets) are relative to /config, so mount the directory holding hearth.yaml
# and its assets. Any other hearth command works too: `docker run --rm -v "$PWD":/config hearth plan --out out`.
#
# Network: --network host is required (DHCP answers broadcasts on the machines' LAN; TFTP/HTTP
# listen on the interface's address). No extra capabilities: the container's root already has
# CAP_NET_BIND_SERVICE (ports 67, 69) and CAP_NET_RAW; SO_BINDTODEVICE needs no capability on
# Linux >= 5.7 (older kernels: add --cap-add NET_RAW, which Docker grants by default anyway).
# NET_ADMIN is not needed (hearth never changes interfaces, routes or firewall rules).

FROM node:20-bookworm AS build
WORKDIR /src
# node-gyp builds the small native UDP addon (SO_BINDTODEVICE + IP_PKTINFO for DHCP).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json binding.gyp tsconfig.json ./
COPY native ./native
RUN npm ci --no-audit --no-fund --ignore-scripts && npx node-gyp rebuild
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY examples ./examples
COPY schema ./schema
COPY scripts ./scripts
COPY web ./web
RUN npx tsc -p tsconfig.json && node scripts/bundle.mjs && node scripts/build-web.mjs && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
# ipxe: undionly.kpxe, ipxe.efi, snponly.efi in /usr/lib/ipxe (netboot.ipxe's default).
# iproute2: the interface address when the link has no carrier yet (a bridge before any server is up).
RUN apt-get update && apt-get install -y --no-install-recommends ipxe iproute2 tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/build/Release/hearth_udp.node ./build/Release/hearth_udp.node
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/cli ./dist/cli
# The web dashboard (served at / on the HTTP port).
COPY --from=build /src/dist/dashboard ./dist/dashboard
# Data files read at run time from the source tree (Talos JSON schemas).
COPY --from=build /src/src/talos/schemas ./src/talos/schemas
COPY --from=build /src/src/talos/api/proto ./src/talos/api/proto
COPY --from=build /src/examples ./examples
COPY --from=build /src/schema ./schema
RUN ln -s /app/dist/cli/hearth.js /usr/local/bin/hearth && chmod +x /app/dist/cli/hearth.js
WORKDIR /config
VOLUME ["/state"]
# tini forwards SIGINT/SIGTERM, so `docker stop` shuts the servers down cleanly.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/hearth.js"]
CMD ["netboot", "serve", "-f", "/config/hearth.yaml", "--state", "/state"]
