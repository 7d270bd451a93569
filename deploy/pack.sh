#!/usr/bin/env bash
# Packs a release that runs without .NET: `swarm` and the fashion-mnist example as self-contained single-file
# linux-x64 binaries (libtorch's native libraries beside them, shared), the seed's scripts, the Python client, the
# Python example and the protos, into DIR/swarm-VERSION-linux-x64.tar.gz (default DIR: dist in the current folder).
# Prints the tarball's path. Files are owned by root in the tarball, so unpacking as root gives no one else a binary
# root runs.
# Usage: deploy/pack.sh [DIR]          Needs the .NET SDK (to build) and the NuGet feed; the result needs neither.
set -euo pipefail
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)   # relative to where it is run from
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
version=$(tr -d '[:space:]' < VERSION)
name="swarm-$version-linux-x64"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/examples"

publish() {
    echo "publishing $1" >&2
    # Intermediate files go under artifacts/ so a release build never touches the clone's own bin/ and obj/.
    dotnet publish "$1" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true -p:DebugType=none \
        --artifacts-path artifacts/publish -o "$root/bin/" -nologo -v quiet >&2
}
publish src/SwarmLearning.Cli
publish examples/fashion-mnist

for component in run-sl run-sn run-spire-server run-apls uninstall; do   # the seed's names, as in a clone's bin/
    printf '#!/bin/sh\n# The seed'"'"'s `%s`: `swarm %s` (same options; --help lists them).\nexec "$(dirname "$0")/swarm" %s "$@"\n' \
        "$component" "$component" "$component" > "$root/bin/$component"
    chmod 755 "$root/bin/$component"
done
rm -f "$root"/bin/*.xml   # API docs for IDEs; nothing here reads them
cp -r python proto "$root/"
cp -r examples/breast-cancer-pytorch examples/hpe-style-pytorch "$root/examples/"   # `pip install ./python` works in the release too
mkdir -p "$root/examples/fashion-mnist" && cp examples/fashion-mnist/README.md "$root/examples/fashion-mnist/"
cp docs/deploy.md "$root/README.md"
echo "$version" > "$root/VERSION"
find "$root" \( -name __pycache__ -o -name '*.egg-info' -o -path "$root/python/build" \) -prune -exec rm -rf {} +
chmod -R go-w "$root"

tar --owner=0 --group=0 --numeric-owner -C "$stage" -czf "$out/$name.tar.gz.partial" "$name"
mv "$out/$name.tar.gz.partial" "$out/$name.tar.gz"   # never a half-written tarball under the final name
echo "$out/$name.tar.gz"
