#!/usr/bin/env bash
# Regenerates src/gen/ from proto/ (our own schemas) and ONNX's onnx-ml.proto.
# onnx-ml.proto is not vendored: it is taken from Debian's python3-onnx package
# (Apache-2.0) into a git-ignored folder, then compiled with buf + protoc-gen-es.
set -euo pipefail
cd "$(dirname "$0")/.."
third=.cache/third_party/onnx
if [ ! -f "$third/onnx-ml.proto" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download python3-onnx >/dev/null && dpkg -x python3-onnx_*.deb x)
  mkdir -p "$third"
  cp "$tmp"/x/usr/lib/python3/dist-packages/onnx/onnx-ml.proto "$third/"
  rm -rf "$tmp"
fi
rm -rf src/gen && mkdir -p src/gen
npx buf generate --template buf.gen.yaml proto
npx buf generate --template buf.gen.yaml "$third"
