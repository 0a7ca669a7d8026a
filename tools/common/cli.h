#pragma once
// What every zerolr command line shares: parsing with CLI11 and the exit status convention
// (help: 0; bad usage: a one-line reason on stderr and exit status 2). The environment is
// input too: a malformed or unsupported ZEROLR_ISA (zerolr/kernels.h) is a usage error.

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "zerolr/kernels.h"

namespace zerolr::tools {

/// Parses argv into `app`. Returns nothing when the tool should go on, or the exit status to
/// return from main: 0 after --help, 2 after a usage error (reported as "tool: reason").
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const char* tool) {
  app.footer(app.get_footer() + (app.get_footer().empty() ? "" : "\n\n") +
             "Environment:\n  ZEROLR_ISA  generic, avx2 or avx512: the instruction set of zerolr's kernels "
             "(default: the best this CPU has; every set gives the same bits)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << tool << ": " << e.what() << "\n";
    return 2;
  }
  try {
    (void)kernels::active_isa();
  } catch (const Error& e) {
    std::cerr << tool << ": " << e.what() << "\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace zerolr::tools
