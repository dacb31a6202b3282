#!/usr/bin/env bash
# What `sam local` needs on a machine without access to Docker Hub or the public ECR (these
# machines: no image can be pulled, and no private-range address may exist, so no Docker bridge):
#   1. Debian's docker.io, qemu-user-static and debootstrap (apt-get; needs root);
#   2. dockerd with --bridge=none --iptables=false (overlay2), started in the background;
#   3. binfmt_misc mounted and qemu-aarch64 registered (its F flag makes it work inside containers),
#      so the arm64 functions run on an x86_64 host;
#   4. the image SAM asks for, public.ecr.aws/lambda/provided:al2023-arm64, built locally from a
#      Debian arm64 rootfs (debootstrap) when it is absent. Never pulled.
# Idempotent: each step is skipped when already done. On a machine with Docker and internet
# access none of this is needed (SAM pulls the real image; see docs/sam-local.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
mkdir -p .local/sam-image
IMAGE=public.ecr.aws/lambda/provided:al2023-arm64
ROOTFS_TAR=.local/sam-image/rootfs.tar

fail() {
  echo "sam-docker: $*" >&2
  exit 1
}

# ---- 1. packages
missing=()
command -v dockerd > /dev/null || missing+=(docker.io)
[ -e /usr/lib/binfmt.d/qemu-aarch64.conf ] || missing+=(qemu-user-static)
command -v debootstrap > /dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    fail "needs the Debian packages ${missing[*]}, which only root can install.
  Run as root (sudo make sam-local), or install them first: sudo apt-get install -y ${missing[*]}
  (on a machine with a normal Docker engine and internet access, see docs/sam-local.md)."
  fi
  command -v apt-get > /dev/null || fail "needs ${missing[*]}, and this is not a Debian system (no apt-get); see docs/sam-local.md."
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # scripts/browser.sh may be installing Chromium at the same time (make test): wait for dpkg's lock.
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" > .local/sam-apt.log 2>&1 \
    || { apt-get -o DPkg::Lock::Timeout=600 update > /dev/null 2>&1 \
      && apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" > .local/sam-apt.log 2>&1; } \
    || { tail -n 20 .local/sam-apt.log; fail "apt-get install ${missing[*]} failed (log: .local/sam-apt.log)"; }
fi

# ---- 2. the Docker engine: host networking only (no bridge, no iptables rules)
if ! docker info > /dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "the Docker engine is not running, and only root can start it (sudo make sam-local)."
  if [ -S /var/run/docker.sock ] && pgrep -x dockerd > /dev/null; then
    fail "dockerd runs but does not answer on /var/run/docker.sock (its log: .local/dockerd.log)."
  fi
  echo "== dockerd --bridge=none --iptables=false (log: .local/dockerd.log)"
  # setsid: the engine outlives this script (and make), like a system service would.
  setsid dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver=overlay2 \
    > .local/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 150); do
    docker info > /dev/null 2>&1 && break
    sleep 0.2
  done
  docker info > /dev/null 2>&1 || { tail -n 20 .local/dockerd.log; fail "dockerd did not start"; }
fi
if docker network ls --format '{{.Driver}}' | grep -qx bridge; then
  fail "a Docker bridge network exists; this setup must not create or use one (restart dockerd with --bridge=none)."
fi

# ---- 3. arm64 binaries through qemu-user-static
if [ "$(uname -m)" != aarch64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ "$(id -u)" = 0 ] || fail "qemu-aarch64 is not registered with binfmt_misc, and only root can register it."
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || fail "cannot mount binfmt_misc (a container without the privilege to? see docs/sam-local.md)"
  echo "== binfmt_misc: registering qemu-aarch64 (flags OPF)"
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf | grep . > /proc/sys/fs/binfmt_misc/register \
    || fail "cannot register qemu-aarch64 with binfmt_misc"
fi

# ---- 4. the base image SAM runs the functions in (only when absent; never pulled)
if ! docker image inspect "$IMAGE" > /dev/null 2>&1; then
  if [ ! -s "$ROOTFS_TAR" ]; then
    echo "== debootstrap --variant=minbase --arch=arm64 bookworm (Debian's packages, a few minutes)"
    rm -rf .local/sam-image/rootfs
    nice debootstrap --variant=minbase --arch=arm64 bookworm .local/sam-image/rootfs \
      > .local/sam-image/debootstrap.log 2>&1 \
      || { tail -n 20 .local/sam-image/debootstrap.log; fail "debootstrap failed (log: .local/sam-image/debootstrap.log)"; }
    tar -C .local/sam-image/rootfs -cf "$ROOTFS_TAR.partial" .
    mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
    rm -rf .local/sam-image/rootfs
  fi
  echo "== docker build $IMAGE (FROM scratch + the arm64 rootfs)"
  printf 'FROM scratch\nADD rootfs.tar /\n' > .local/sam-image/Dockerfile
  # --network none: nothing to fetch; the build needs no network at all.
  DOCKER_BUILDKIT=0 docker build --network none --platform linux/arm64 -t "$IMAGE" .local/sam-image \
    > .local/sam-image/build.log 2>&1 \
    || { tail -n 20 .local/sam-image/build.log; fail "docker build failed (log: .local/sam-image/build.log)"; }
fi
echo "sam-docker: Docker engine up (host networking only), qemu-aarch64 registered, $IMAGE present"
