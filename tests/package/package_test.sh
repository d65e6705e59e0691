#!/usr/bin/env bash
# The SDK as a user gets it: `cmake --install` into a temp prefix, then (1) the out-of-tree
# example examples/sdk-consumer configured with find_package(eragon) and built, (2) a program
# compiled with `pkg-config --cflags --libs eragon`; both are run. Any failure fails the test.
# Usage: package_test.sh <eragon-build-dir> <eragon-source-dir>
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" --component sdk >"$tmp/install.log"
for h in status event producer consumer kafka_consumer push_receiver handler; do
  test -f "$prefix/include/eragon/$h.h" || { echo "not installed: eragon/$h.h"; exit 1; }
done
# Public headers must not reach into the source tree.
if grep -rn '#include "\(core\|http\|server\|sdk\|dispatch\|testing\)/' "$prefix/include"; then
  echo "an installed header includes an internal one"; exit 1
fi

# The library exports no Boost symbols (the HTTP layers' Beast/Asio stay internal), so a
# service with its own Boost cannot collide with ours.
lib=$(find "$prefix" -name 'liberagon_client.so' | head -1)
if nm -D --defined-only "$lib" | c++filt | grep -i boost | head -5 | grep .; then
  echo "liberagon_client.so exports Boost symbols"; exit 1
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$src/examples/sdk-consumer" -B "$tmp/example" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/example" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
"$tmp/example/sdk-consumer-example" --self-test

libdir=$(dirname "$(find "$prefix" -name 'liberagon_client.so' | head -1)")
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs eragon)
# shellcheck disable=SC2086
g++ -std=c++20 "$src/tests/package/pkgconfig_hello.cc" $flags -o "$tmp/hello"
LD_LIBRARY_PATH=$libdir "$tmp/hello"
echo "sdk package: find_package and pkg-config builds OK"
