// The corpus replay: a main() for the fuzz targets without libFuzzer, so that every corpus and
// regression input is re-run by ctest in an ordinary (GCC) build.
//
//   fuzz_train_replay FILE_OR_DIR...
//
// Each file is fed to LLVMFuzzerTestOneInput once (LLVMFuzzerInitialize first, if the target
// defines it); directories are walked in name order. A finding aborts as under libFuzzer, after
// the file's name has been printed. Exit status 0 when every input ran, 2 on a usage error or
// when no input was found.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "%s: no such file or directory: %s\n", argv[0], argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "%s: no input files\n", argv[0]);
    return 2;
  }
  std::size_t rejected = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay %s (%zu bytes)\n", f.c_str(), bytes.size());
    std::fflush(stderr);
    // A copy of exactly the file's size, so that ASan sees reads past the end.
    std::vector<std::uint8_t> buf(bytes.begin(), bytes.end());
    if (LLVMFuzzerTestOneInput(buf.empty() ? nullptr : buf.data(), buf.size()) == -1) ++rejected;
  }
  std::printf("%zu input(s) replayed without a finding (%zu rejected as not describing a case)\n",
              files.size(), rejected);
  return 0;
}
