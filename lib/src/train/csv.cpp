// Numeric CSV reading. Built for float and double only: std::from_chars parses each cell
// directly as T, so a float dataset holds the correctly rounded float of each cell rather
// than a double rounded twice.

#include "zerolr/train/csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace zerolr {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// A cell as quoted in a message: long cells are cut so that one bad cell cannot flood a log.
std::string quote_cell(std::string_view cell) {
  constexpr std::size_t kMax = 40;
  if (cell.size() <= kMax) return "'" + std::string(cell) + "'";
  return "'" + std::string(cell.substr(0, kMax)) + "...'";
}

struct Record {
  std::vector<std::string> fields;
  std::vector<bool> quoted;
  std::size_t line = 0;  ///< the 1-based line on which the record starts

  bool blank() const { return fields.size() == 1 && !quoted[0] && fields[0].empty(); }
};

/// Splits the text into records; a quoted field may hold commas, "" and line breaks.
class Reader {
 public:
  Reader(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  /// The column names used in messages once the header is known.
  void set_names(const std::vector<std::string>* names) { names_ = names; }

  /// "source:line" or "source:line, column 'name'".
  std::string where(std::size_t line, std::size_t column = kNoColumn) const {
    std::string w = source_ + ":" + std::to_string(line);
    if (column == kNoColumn) return w;
    if (names_ != nullptr && column < names_->size()) return w + ", column '" + (*names_)[column] + "'";
    return w + ", column " + std::to_string(column + 1);
  }

  /// Reads the next record into `rec`; false at the end of the text.
  bool next(Record& rec) {
    if (pos_ >= text_.size()) return false;
    rec.fields.clear();
    rec.quoted.clear();
    rec.line = line_;
    for (;;) {
      std::string field;
      bool quoted = false;
      std::size_t p = pos_;
      while (p < text_.size() && is_blank(text_[p])) ++p;
      if (p < text_.size() && text_[p] == '"') {
        quoted = true;
        pos_ = p + 1;
        read_quoted(field, rec.line, rec.fields.size());
      } else {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r')
          ++pos_;
        field = std::string(trim(text_.substr(start, pos_ - start)));
      }
      rec.fields.push_back(std::move(field));
      rec.quoted.push_back(quoted);
      if (pos_ >= text_.size()) return true;
      const char c = text_[pos_++];
      if (c == ',') continue;
      // '\n', '\r\n' or a lone '\r' ends the record.
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      return true;
    }
  }

  static constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);

 private:
  // pos_ is just past the opening quote; on return it is at the separator after the field.
  void read_quoted(std::string& field, std::size_t record_line, std::size_t column) {
    const std::size_t open_line = line_;
    for (;;) {
      if (pos_ >= text_.size())
        throw CsvError(where(open_line, column) + ": unterminated quote (the field opened on line " +
                       std::to_string(open_line) + " has no closing '\"')");
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          field += '"';
          pos_ += 2;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\n' || (c == '\r' && !(pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n'))) ++line_;
      field += c;
      ++pos_;
    }
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r')
      throw CsvError(where(record_line, column) + ": unexpected '" + std::string(1, text_[pos_]) +
                     "' after the closing quote");
  }

  std::string_view text_;
  const std::string& source_;
  const std::vector<std::string>* names_ = nullptr;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

template <class T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, float>)
    return "float";
  else
    return "double";
}

// Whether a decimal literal that from_chars reported out of range is tiny (it rounds to
// zero) rather than huge: the decimal exponent of its leading digit decides, since the
// two cases lie hundreds of decades apart.
bool underflows(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  long lead = 0;
  bool found = false;
  long int_digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (found)
      ++int_digits;
    else if (s[i] != '0')
      found = true;
  }
  if (found) {
    lead = int_digits;
  } else if (i < s.size() && s[i] == '.') {
    ++i;
    for (long k = 0; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++k) {
      if (!found && s[i] != '0') {
        found = true;
        lead = -(k + 1);
      }
    }
  }
  if (!found) return true;  // zero is never out of range
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i < s.size() && s[i] == '.') ++i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  long exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
      if (exponent < 1000000) exponent = exponent * 10 + (s[i] - '0');
    if (negative) exponent = -exponent;
  }
  return lead + exponent < 0;
}

template <class T>
T parse_cell(std::string_view raw, const Reader& reader, std::size_t line, std::size_t column) {
  const std::string_view cell = trim(raw);
  if (cell.empty()) throw CsvError(reader.where(line, column) + ": the cell is empty, not a number");
  const char* first = cell.data();
  const char* last = cell.data() + cell.size();
  // std::from_chars rejects a leading '+'; accept one, but not "+-1" or "++1".
  if (*first == '+') {
    ++first;
    if (first == last || *first == '+' || *first == '-')
      throw CsvError(reader.where(line, column) + ": " + quote_cell(cell) + " is not a number");
  }
  T value{};
  const auto r = std::from_chars(first, last, value, std::chars_format::general);
  if (r.ec == std::errc::invalid_argument || r.ptr != last)
    throw CsvError(reader.where(line, column) + ": " + quote_cell(cell) + " is not a number");
  if (r.ec == std::errc::result_out_of_range) {
    // A value below the smallest subnormal rounds to zero, as static_cast would round it.
    if (!underflows(std::string_view(first, static_cast<std::size_t>(last - first))))
      throw CsvError(reader.where(line, column) + ": " + quote_cell(cell) + " is out of range for " +
                     type_name<T>());
    value = *first == '-' ? -T(0) : T(0);
  }
  if (!std::isfinite(value))
    throw CsvError(reader.where(line, column) + ": " + quote_cell(cell) +
                   " is not a finite number (NaN and infinity are not allowed)");
  return value;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

}  // namespace

template <class T>
Dataset<T> read_csv(std::istream& in, const std::string& target, const std::string& source) {
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw CsvError(source + ": read error");
  std::string_view text = content;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  Reader reader(text, source);
  Record header;
  if (!reader.next(header)) throw CsvError(source + ": the file is empty");
  if (header.blank()) {
    Record rest;
    while (reader.next(rest)) {
      if (!rest.blank()) throw CsvError(source + ":1: the header line is blank");
    }
    throw CsvError(source + ": the file is empty");
  }

  const std::vector<std::string>& names = header.fields;
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (names[c].empty())
      throw CsvError(reader.where(header.line) + ": column " + std::to_string(c + 1) + " has an empty name");
    for (std::size_t e = 0; e < c; ++e) {
      if (names[e] == names[c])
        throw CsvError(reader.where(header.line) + ": column name '" + names[c] +
                       "' appears twice (columns " + std::to_string(e + 1) + " and " + std::to_string(c + 1) +
                       ")");
    }
  }
  std::size_t target_column = names.size();
  for (std::size_t c = 0; c < names.size(); ++c)
    if (names[c] == target) target_column = c;
  if (target_column == names.size())
    throw CsvError(source + ": no column named '" + target + "' (columns: " + list_names(names) + ")");
  reader.set_names(&names);

  const std::size_t width = names.size();
  std::vector<T> values;  // row-major, width per row
  std::size_t rows = 0;
  std::size_t blank_line = 0;  // the first blank line seen, 0 if none
  Record rec;
  while (reader.next(rec)) {
    if (rec.blank()) {
      if (blank_line == 0) blank_line = rec.line;
      continue;
    }
    if (blank_line != 0)
      throw CsvError(reader.where(blank_line) + ": blank line inside the data (the data continue on line " +
                     std::to_string(rec.line) + ")");
    if (rec.fields.size() != width)
      throw CsvError(reader.where(rec.line) + ": row has " + std::to_string(rec.fields.size()) +
                     (rec.fields.size() == 1 ? " field" : " fields") + " but the header has " +
                     std::to_string(width));
    for (std::size_t c = 0; c < width; ++c)
      values.push_back(parse_cell<T>(rec.fields[c], reader, rec.line, c));
    ++rows;
  }
  if (rows == 0) throw CsvError(source + ": no data rows");

  Dataset<T> data;
  const auto n = static_cast<Index>(rows);
  data.x.resize(n, static_cast<Index>(width - 1));
  data.y.resize(n, 1);
  for (std::size_t c = 0; c < width; ++c)
    if (c != target_column) data.feature_names.push_back(names[c]);
  data.target_name = target;
  for (std::size_t i = 0; i < rows; ++i) {
    Index j = 0;
    for (std::size_t c = 0; c < width; ++c) {
      const T v = values[i * width + c];
      if (c == target_column)
        data.y(static_cast<Index>(i), 0) = v;
      else
        data.x(static_cast<Index>(i), j++) = v;
    }
  }
  return data;
}

template <class T>
Dataset<T> load_csv(const std::string& path, const std::string& target) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw CsvError(path + ": cannot read: it is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (!std::filesystem::exists(path, ec)) throw CsvError(path + ": cannot open: no such file");
    throw CsvError(path + ": cannot open: " + std::generic_category().message(err));
  }
  return read_csv<T>(in, target, path);
}

template Dataset<float> read_csv<float>(std::istream&, const std::string&, const std::string&);
template Dataset<double> read_csv<double>(std::istream&, const std::string&, const std::string&);
template Dataset<float> load_csv<float>(const std::string&, const std::string&);
template Dataset<double> load_csv<double>(const std::string&, const std::string&);

}  // namespace zerolr
