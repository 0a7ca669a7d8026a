#pragma once
/// \file
/// Reading numeric CSV files into a Dataset.
///
/// The first line is a header of column names. Every other column than the target is a
/// feature. Fields are separated by commas and may be quoted with double quotes ("" escapes
/// a quote). Values are parsed as T directly (correctly rounded; std::from_chars). A trailing
/// newline and trailing blank lines are fine.
///
/// Errors (CsvError, the message names the source and line, and column where there is one):
/// an empty file, no data rows, an empty or duplicated column name, no column named like the
/// target, a row with another number of fields than the header, a cell that is not a number,
/// a number out of T's range, a NaN or infinite cell, an unterminated quote.

#include <istream>
#include <string>

#include "zerolr/train/dataset.h"

namespace zerolr {

template <class T>
Dataset<T> read_csv(std::istream& in, const std::string& target, const std::string& source = "<stream>");

/// Opens `path` (CsvError if it cannot) and reads it.
template <class T>
Dataset<T> load_csv(const std::string& path, const std::string& target);

}  // namespace zerolr
