#!/bin/sh
# Obtain Fashion-MNIST for `make demo` / `make test`.
#   1. already found by cnnlab (path, $CNNLAB_DATA, cache, Debian's folder): done;
#   2. root on Debian: apt-get install dataset-fashion-mnist;
#   3. otherwise: cnnlab downloads from the official mirrors and checks the md5s.
# Never fatal for `make test`: tests that need the real data skip without it.
PY=${1:-python3}
if "$PY" -m cnnlab data locate fashion-mnist >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's dataset-fashion-mnist ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1
    "$PY" -m cnnlab data locate fashion-mnist >/dev/null 2>&1 && exit 0
fi
echo "Downloading Fashion-MNIST ..."
"$PY" -m cnnlab data download fashion-mnist || {
    echo "warning: Fashion-MNIST could not be obtained; tests that need it will be skipped." >&2
    exit 0
}
