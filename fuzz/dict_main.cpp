// Prints the optimizer part of fuzz_parse's dictionary from the rule registry: every rule's
// name followed by "(", and every key followed by "=". The build appends it to the static
// part (fuzz/fuzz_parse.dict) in build/fuzz/fuzz_parse.dict, so a new rule's words reach the
// fuzzer without an edit here.
#include <cstdio>
#include <set>
#include <string>

#include "zerolr/optim/spec.h"

int main() {
  std::printf("# Generated from the rule registry (fuzz/dict_main.cpp): optimizer names and keys.\n");
  std::set<std::string> keys;
  for (const zerolr::RuleInfo& rule : zerolr::rule_catalog()) {
    std::printf("\"%s\"\n\"%s(\"\n", rule.name.c_str(), rule.name.c_str());
    for (const zerolr::KeyInfo& k : rule.keys) keys.insert(k.name);
  }
  for (const std::string& k : keys) std::printf("\"%s=\"\n", k.c_str());
  return 0;
}
