#pragma once
// Private to lib/src/audit: the one registry of properties. A property judges model cases
// (a Case run through the trainer with optimizers from a Factories), vector cases (an
// implementation's trajectory on a VectorCase), or both; properties.cpp lists them once and
// every driver (the RapidCheck suite, the fuzz targets, the audit) looks them up there.

#include <span>

#include "zerolr/audit/properties.h"

namespace zerolr {

/// Everything the vector properties share about one judged vector case (vector_props.cpp).
struct VectorContext;

struct PropertyEntry {
  const char* name;
  Verdict (*model)(const Case&, const Factories&);  ///< null: not a model property
  Verdict (*vector)(const VectorContext&);          ///< null: not a vector property
};

/// Every property, in the order drivers run them.
std::span<const PropertyEntry> property_registry();

// The vector properties (vector_props.cpp); audit.h describes each.
Verdict vector_freeze(const VectorContext& c);
Verdict vector_non_finite(const VectorContext& c);
Verdict vector_signed_zero(const VectorContext& c);
Verdict vector_refusal(const VectorContext& c);
Verdict vector_exception(const VectorContext& c);
Verdict vector_rule_hazard(const VectorContext& c);
Verdict vector_agreement(const VectorContext& c);
Verdict vector_failure(const VectorContext& c);

}  // namespace zerolr
