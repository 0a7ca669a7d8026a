#!/bin/bash -eu
# OSS-Fuzz-style build of zerolr's fuzz targets: $CC, $CXX, $CFLAGS and $CXXFLAGS carry the
# sanitizer and coverage flags, $LIB_FUZZING_ENGINE links the engine, binaries go to $OUT.
# Runs in .clusterfuzzlite/Dockerfile's image; also by hand (fuzz/README.md):
#   CC=clang CXX=clang++ CFLAGS="-fsanitize=address,fuzzer-no-link" CXXFLAGS="$CFLAGS" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer SRC=$PWD/.. OUT=/tmp/out bash .clusterfuzzlite/build.sh
SRC_DIR=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/zerolr
[[ -d "$SRC_DIR" ]] || SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BOOST_ROOT=${BOOST_ROOT:-/opt/boost_1_83_0}
boost=()
[[ -d "$BOOST_ROOT/boost" ]] && boost=(-DBoost_INCLUDE_DIR="$BOOST_ROOT")
cmake -S "$SRC_DIR" -B "$WORK/zerolr-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DZEROLR_BUILD_FUZZ=ON -DZEROLR_FUZZ_SANITIZE=OFF -DZEROLR_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DZEROLR_BUILD_TESTS=OFF -DZEROLR_BUILD_PROPERTIES=OFF -DZEROLR_BUILD_BENCH=OFF \
  -DZEROLR_BUILD_TOOLS=OFF -DZEROLR_BUILD_CLIENTS=OFF -DZEROLR_INSTALL=OFF "${boost[@]}"
cmake --build "$WORK/zerolr-build" -j "$(nproc)" \
  --target fuzz_train fuzz_parse fuzz_optimizer_plugin zerolr_example_adamw zerolr_fuzz_dicts
for t in fuzz_train fuzz_parse fuzz_optimizer_plugin; do
  cp "$WORK/zerolr-build/fuzz/$t" "$OUT/"
  cp "$WORK/zerolr-build/fuzz/$t.dict" "$OUT/$t.dict"  # with the registry's optimizer words
  (cd "$SRC_DIR/fuzz/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
done
# fuzz_optimizer_plugin loads the plug-in named by ZEROLR_PLUGIN or, unset (on the cluster),
# the example AdamW next to the binary. To fuzz your own plug-in, copy it there under that name.
cp "$WORK/zerolr-build/examples/plugins/libzerolr_example_adamw.so" "$OUT/"
