# One image for every kubelab process (docker-compose.yml runs it as etcd, the apiserver, the scheduler, the
# controller-manager and the nodes). Stages, cheapest to change last:
#   os        the base plus what the processes need from Debian (changes when this list does)
#   deps      every npm dependency, for the compiler (changes with package-lock.json)
#   prod-deps the production dependencies only, for the image
#   build     the TypeScript sources compiled to dist/ (changes with any source file)
#   final     os + prod-deps + dist + the files the processes read at run time + the cluster DNS image archive
# BASE_IMAGE is any Debian bookworm with Node 20 under /usr/local (node:20-bookworm-slim; test/compose/base-image.sh
# makes one offline).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS os
# etcd-server/etcd-client: the store; iptables, iproute2, conntrack: kube-proxy and the node network; runc, conmon,
# containernetworking-plugins: the runtime; busybox-static: the offline tutorial images; util-linux (nsenter) and
# perl-base: exec and port-forward; kubernetes-client: a kubectl inside every container; procps: ps for poking around;
# haproxy: the HA profile's load balancer in front of the apiservers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      etcd-server etcd-client iptables iproute2 conntrack runc conmon containernetworking-plugins busybox-static \
      util-linux perl-base kubernetes-client procps ca-certificates haproxy \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
WORKDIR /opt/kubelab

FROM ${BASE_IMAGE} AS deps
WORKDIR /opt/kubelab
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM deps AS build
COPY tsconfig.json ./
COPY api api
COPY client client
COPY component-base component-base
COPY proto proto
COPY apiserver apiserver
COPY scheduler scheduler
COPY controller-manager controller-manager
COPY container-runtime container-runtime
COPY kubelet kubelet
COPY kube-proxy kube-proxy
COPY cluster-dns cluster-dns
COPY kube-state-metrics kube-state-metrics
COPY metrics-server metrics-server
COPY live-view live-view
COPY lab lab
# Tests and benchmarks stay out (.dockerignore): the include list's test/ and bench/ are simply absent.
# The live view's page is compiled apart (browser TypeScript) and its HTML and CSS copied beside it, as `npm run build` does.
RUN npx tsc -p tsconfig.json --sourceMap false && test -f dist/lab/main.js \
 && npx tsc -p live-view/web/tsconfig.build.json --sourceMap false \
 && cp live-view/web/index.html live-view/web/style.css dist/live-view/web/

FROM os AS final
COPY --from=prod-deps /opt/kubelab/node_modules node_modules
COPY package.json package-lock.json ./
COPY proto proto
COPY addons addons
COPY images images
COPY --from=build /opt/kubelab/dist dist
# The cluster DNS add-on's image (busybox + node + kubelab-dns), built once here so no node builds it at start.
RUN node --input-type=module -e "await (await import('/opt/kubelab/dist/lab/up/dns.js')).dnsImageArchive()" \
 && ln -s /opt/kubelab/dist/lab/main.js /usr/local/bin/kubelab \
 && chmod +x dist/*/main.js
ENV PATH=/opt/kubelab/node_modules/.bin:$PATH KUBELAB_IMAGE_BUILT=1
CMD ["kubelab", "--help"]
