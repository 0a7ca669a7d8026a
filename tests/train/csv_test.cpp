#include "zerolr/train/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "zerolr/core.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

template <class T>
Dataset<T> read(const std::string& text, const std::string& target = "y") {
  std::istringstream in(text);
  return read_csv<T>(in, target, "data.csv");
}

/// The message of the CsvError that reading `text` throws; a test failure if none.
template <class T = double>
std::string csv_error(const std::string& text, const std::string& target = "y") {
  try {
    read<T>(text, target);
  } catch (const CsvError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no CsvError for:\n" << text;
  return "";
}

/// A file in the temporary directory, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    path_ = std::filesystem::temp_directory_path() /
            ("zerolr_csv_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) + ".csv");
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ReadCsv, ReadsFeaturesAndTheTargetInTheLastColumn) {
  const Dataset<double> d = read<double>("a,b,y\n1,2,3\n4,5,6\n");
  ASSERT_EQ(d.size(), 2);
  ASSERT_EQ(d.features(), 2);
  ASSERT_EQ(d.y.cols(), 1);
  EXPECT_EQ(d.x(0, 0), 1.0);
  EXPECT_EQ(d.x(0, 1), 2.0);
  EXPECT_EQ(d.x(1, 0), 4.0);
  EXPECT_EQ(d.x(1, 1), 5.0);
  EXPECT_EQ(d.y(0, 0), 3.0);
  EXPECT_EQ(d.y(1, 0), 6.0);
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.target_name, "y");
  EXPECT_NO_THROW(d.validate());
}

TEST(ReadCsv, FindsTheTargetInAnyPosition) {
  const Dataset<float> first = read<float>("label,a,b\n9,1,2\n8,3,4", "label");
  EXPECT_EQ(first.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(first.y(0, 0), 9.0f);
  EXPECT_EQ(first.y(1, 0), 8.0f);
  EXPECT_EQ(first.x(1, 0), 3.0f);
  const Dataset<double> middle = read<double>("a,label,b\n1,9,2\n3,8,4\n", "label");
  EXPECT_EQ(middle.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(middle.y(0, 0), 9.0);
  EXPECT_EQ(middle.x(0, 1), 2.0);
  EXPECT_EQ(middle.x(1, 1), 4.0);
}

TEST(ReadCsv, ReadsAFileWithOnlyTheTargetColumn) {
  const Dataset<double> d = read<double>("y\n1\n2\n");
  EXPECT_EQ(d.size(), 2);
  EXPECT_EQ(d.features(), 0);
  EXPECT_EQ(d.y(1, 0), 2.0);
}

TEST(ReadCsv, TreatsCrLfLikeLf) {
  const Dataset<double> lf = read<double>("a,y\n1.5,2\n3,4\n");
  const Dataset<double> crlf = read<double>("a,y\r\n1.5,2\r\n3,4\r\n\r\n");
  EXPECT_EQ(crlf.feature_names, lf.feature_names);
  EXPECT_EQ(crlf.x, lf.x);
  EXPECT_EQ(crlf.y, lf.y);
  EXPECT_THAT(csv_error("a,y\r\n1,2\r\n3,x\r\n"), HasSubstr("data.csv:3, column 'y': 'x' is not a number"));
}

TEST(ReadCsv, SkipsAUtf8ByteOrderMark) {
  const Dataset<double> d = read<double>(
      "\xEF\xBB\xBF"
      "a,y\n1,2\n");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(d.x(0, 0), 1.0);
  EXPECT_EQ(read<double>("\xEF\xBB\xBFy,a\n7,1\n").y(0, 0), 7.0);
}

TEST(ReadCsv, ReadsQuotedFieldsWithCommasAndDoubledQuotes) {
  const Dataset<double> d = read<double>("\"a,b\",\"say \"\"y\"\"\"\n\"1.5\", \" 2 \"\n", "say \"y\"");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a,b"}));
  EXPECT_EQ(d.target_name, "say \"y\"");
  EXPECT_EQ(d.x(0, 0), 1.5);
  EXPECT_EQ(d.y(0, 0), 2.0);
}

TEST(ReadCsv, CountsLinesInsideQuotedFields) {
  const Dataset<double> d = read<double>("\"a\nb\",y\n1,2\n");
  EXPECT_EQ(d.feature_names[0], "a\nb");
  EXPECT_THAT(csv_error("\"a\nb\",y\n1,2\n3,z\n"), HasSubstr("data.csv:4, column 'y'"));
}

TEST(ReadCsv, AcceptsSurroundingSpacesAndALeadingPlus) {
  const Dataset<double> d = read<double>(" a , y \n +1.5 ,\t-2 \n+.5,+1e2\n");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(d.x(0, 0), 1.5);
  EXPECT_EQ(d.y(0, 0), -2.0);
  EXPECT_EQ(d.x(1, 0), 0.5);
  EXPECT_EQ(d.y(1, 0), 100.0);
}

TEST(ReadCsv, AcceptsMissingAndExtraTrailingNewlines) {
  EXPECT_EQ(read<double>("a,y\n1,2").size(), 1);
  EXPECT_EQ(read<double>("a,y\n1,2\n\n\n").size(), 1);
  EXPECT_EQ(read<double>("a,y\n1,2\n   \n").size(), 1);
}

TEST(ReadCsv, RoundsEachCellOnceToTheRequestedType) {
  EXPECT_EQ(read<float>("a,y\n0.1,0.2\n").x(0, 0), 0.1f);
  EXPECT_EQ(read<float>("a,y\n0.1,0.2\n").y(0, 0), 0.2f);
  EXPECT_EQ(read<double>("a,y\n0.1,0.2\n").x(0, 0), 0.1);
  EXPECT_EQ(read<double>("a,y\n0.1,0.2\n").y(0, 0), 0.2);
  // Just below the midpoint 1 + 3 * 2^-24 of two floats: parsing as double first would land
  // on the midpoint and round to even (1 + 2^-22); the correct float is 1 + 2^-23.
  const float f = read<float>("a,y\n1.0000001788139343261718749,0\n").x(0, 0);
  EXPECT_EQ(f, 1.0f + 0x1.0p-23f);
  EXPECT_EQ(static_cast<float>(1.0000001788139343261718749), 1.0f + 0x1.0p-22f);
}

TEST(ReadCsv, ReadsSubnormalValues) {
  const Dataset<float> f = read<float>("a,y\n1e-40,1.401298464324817e-45\n");
  EXPECT_EQ(std::fpclassify(f.x(0, 0)), FP_SUBNORMAL);
  EXPECT_EQ(f.x(0, 0), 1e-40f);
  EXPECT_EQ(f.y(0, 0), std::numeric_limits<float>::denorm_min());
  const Dataset<double> d = read<double>("a,y\n4.9406564584124654e-324,2.2250738585072009e-308\n");
  EXPECT_EQ(d.x(0, 0), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(std::fpclassify(d.y(0, 0)), FP_SUBNORMAL);
}

TEST(ReadCsv, RoundsValuesBelowTheSmallestSubnormalToSignedZero) {
  const Dataset<float> f = read<float>("a,y\n1e-50,-1e-50\n");
  EXPECT_EQ(f.x(0, 0), 0.0f);
  EXPECT_FALSE(std::signbit(f.x(0, 0)));
  EXPECT_EQ(f.y(0, 0), 0.0f);
  EXPECT_TRUE(std::signbit(f.y(0, 0)));
  const Dataset<double> d = read<double>("a,y\n0.000000000001e-400,-1e-99999999999\n");
  EXPECT_EQ(d.x(0, 0), 0.0);
  EXPECT_TRUE(std::signbit(d.y(0, 0)));
}

TEST(ReadCsv, KeepsTheSignOfNegativeZero) {
  const Dataset<float> f = read<float>("a,y\n-0,-0.0\n");
  EXPECT_TRUE(std::signbit(f.x(0, 0)));
  EXPECT_TRUE(std::signbit(f.y(0, 0)));
  const Dataset<double> d = read<double>("a,y\n-0,0\n");
  EXPECT_TRUE(std::signbit(d.x(0, 0)));
  EXPECT_FALSE(std::signbit(d.y(0, 0)));
}

TEST(ReadCsvErrors, AnEmptyFile) {
  EXPECT_THAT(csv_error(""), HasSubstr("data.csv: the file is empty"));
  EXPECT_THAT(csv_error("\xEF\xBB\xBF"), HasSubstr("data.csv: the file is empty"));
  EXPECT_THAT(csv_error("\n\r\n  \n"), HasSubstr("data.csv: the file is empty"));
}

TEST(ReadCsvErrors, ABlankHeaderLine) {
  EXPECT_THAT(csv_error("\na,y\n1,2\n"), HasSubstr("data.csv:1: the header line is blank"));
}

TEST(ReadCsvErrors, AHeaderWithoutDataRows) {
  EXPECT_THAT(csv_error("a,y\n"), HasSubstr("data.csv: no data rows"));
  EXPECT_THAT(csv_error("a,y"), HasSubstr("data.csv: no data rows"));
  EXPECT_THAT(csv_error("a,y\r\n\r\n\r\n"), HasSubstr("data.csv: no data rows"));
}

TEST(ReadCsvErrors, ARowWithAnotherNumberOfFields) {
  EXPECT_THAT(csv_error("a,b,y\n1,2,3\n4,5\n"),
              HasSubstr("data.csv:3: row has 2 fields but the header has 3"));
  EXPECT_THAT(csv_error("a,b,y\n1,2,3,4\n"), HasSubstr("data.csv:2: row has 4 fields but the header has 3"));
  EXPECT_THAT(csv_error("a,y\n7\n"), HasSubstr("data.csv:2: row has 1 field but the header has 2"));
  EXPECT_THAT(csv_error("a,y\n1,2,\n"), HasSubstr("data.csv:2: row has 3 fields"));
}

TEST(ReadCsvErrors, ACellThatIsNotANumber) {
  EXPECT_THAT(csv_error("x0,x1,y\n1,2,3\n4,5,6\n7,abc,9\n"),
              HasSubstr("data.csv:4, column 'x1': 'abc' is not a number"));
  for (const char* cell : {"1.5.2", "0x10", "+-1", "++1", "-+1", "1e", "1 2", "--1", "1;5", "e5", "+"}) {
    const std::string text = std::string("x0,y\n0,0\n\"") + cell + "\",1\n";
    const std::string m = csv_error(text);
    EXPECT_THAT(m, HasSubstr("data.csv:3, column 'x0': '")) << cell;
    EXPECT_THAT(m, HasSubstr("' is not a number")) << cell;
  }
}

TEST(ReadCsvErrors, AnEmptyCell) {
  EXPECT_THAT(csv_error("x0,y\n1,\n"), HasSubstr("data.csv:2, column 'y': the cell is empty"));
  EXPECT_THAT(csv_error("x0,y\n  ,1\n"), HasSubstr("data.csv:2, column 'x0': the cell is empty"));
  EXPECT_THAT(csv_error("x0,y\n\"\",1\n"), HasSubstr("data.csv:2, column 'x0': the cell is empty"));
}

TEST(ReadCsvErrors, AVeryLongCellIsCutInTheMessage) {
  const std::string cell(200, 'z');
  const std::string m = csv_error("x0,y\n" + cell + ",1\n");
  EXPECT_THAT(m, HasSubstr("'" + std::string(40, 'z') + "...' is not a number"));
  EXPECT_LT(m.size(), 120u);
}

TEST(ReadCsvErrors, ANumberOutOfTheRangeOfFloat) {
  EXPECT_THAT(csv_error<float>("x0,y\n1,2\n3,4\n5,6\n1e39,7\n"),
              HasSubstr("data.csv:5, column 'x0': '1e39' is out of range for float"));
  EXPECT_THAT(csv_error<float>("x0,y\n1,-3.5e38\n"),
              HasSubstr("data.csv:2, column 'y': '-3.5e38' is out of range for float"));
  EXPECT_EQ(read<double>("x0,y\n1e39,7\n").x(0, 0), 1e39);
}

TEST(ReadCsvErrors, ANumberOutOfTheRangeOfDouble) {
  EXPECT_THAT(csv_error<double>("x0,y\n1e309,1\n"),
              HasSubstr("data.csv:2, column 'x0': '1e309' is out of range for double"));
  EXPECT_THAT(csv_error<double>("x0,y\n1,+123456789e99999999999\n"),
              HasSubstr("data.csv:2, column 'y': '+123456789e99999999999' is out of range for double"));
}

TEST(ReadCsvErrors, NanAndInfiniteCells) {
  for (const char* cell : {"nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "nan(1)"}) {
    const std::string m = csv_error<float>(std::string("x0,y\n1,") + cell + "\n");
    EXPECT_THAT(m, HasSubstr(std::string("data.csv:2, column 'y': '") + cell + "' is not a finite number"))
        << cell;
    EXPECT_THAT(m, HasSubstr("NaN and infinity are not allowed"));
  }
}

TEST(ReadCsvErrors, NoColumnNamedLikeTheTarget) {
  EXPECT_THAT(csv_error("a,b,c\n1,2,3\n", "label"),
              HasSubstr("data.csv: no column named 'label' (columns: a, b, c)"));
  EXPECT_THAT(csv_error("Y\n1\n", "y"), HasSubstr("no column named 'y' (columns: Y)"));
}

TEST(ReadCsvErrors, AnEmptyColumnName) {
  EXPECT_THAT(csv_error("a,,y\n1,2,3\n"), HasSubstr("data.csv:1: column 2 has an empty name"));
  EXPECT_THAT(csv_error("a,y,\n1,2,3\n"), HasSubstr("data.csv:1: column 3 has an empty name"));
  EXPECT_THAT(csv_error("\"\",y\n1,2\n"), HasSubstr("data.csv:1: column 1 has an empty name"));
}

TEST(ReadCsvErrors, ADuplicatedColumnName) {
  EXPECT_THAT(csv_error("a,b,a,y\n1,2,3,4\n"),
              HasSubstr("data.csv:1: column name 'a' appears twice (columns 1 and 3)"));
  EXPECT_THAT(csv_error("y, y\n1,2\n"), HasSubstr("column name 'y' appears twice (columns 1 and 2)"));
}

TEST(ReadCsvErrors, AnUnterminatedQuote) {
  EXPECT_THAT(csv_error("a,y\n1,2\n3,\"4\n5,6\n"), HasSubstr("data.csv:3, column 'y': unterminated quote"));
  EXPECT_THAT(csv_error("a,\"y\n1,2\n"), HasSubstr("data.csv:1, column 2: unterminated quote"));
}

TEST(ReadCsvErrors, TextAfterAClosingQuote) {
  EXPECT_THAT(csv_error("a,y\n\"1\"2,3\n"),
              HasSubstr("data.csv:2, column 'a': unexpected '2' after the closing quote"));
}

TEST(ReadCsvErrors, ABlankLineInsideTheData) {
  EXPECT_THAT(csv_error("a,y\n1,2\n\n3,4\n"), HasSubstr("data.csv:3: blank line inside the data"));
}

TEST(ReadCsvErrors, NameTheStreamWhenNoSourceIsGiven) {
  std::istringstream in("a,b\n1,2\n");
  try {
    read_csv<double>(in, "y");
    ADD_FAILURE() << "no CsvError";
  } catch (const CsvError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("<stream>: no column named 'y'"));
  }
}

TEST(LoadCsv, ReadsAFileAndNamesItInErrors) {
  TempFile good("a,y\n1,2\n3,4\n");
  const Dataset<float> d = load_csv<float>(good.path(), "y");
  EXPECT_EQ(d.size(), 2);
  EXPECT_EQ(d.x(1, 0), 3.0f);
  EXPECT_EQ(d.y(1, 0), 4.0f);
  TempFile bad("a,y\n1,2\n3,q\n");
  try {
    load_csv<double>(bad.path(), "y");
    ADD_FAILURE() << "no CsvError";
  } catch (const CsvError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(bad.path() + ":3, column 'y': 'q' is not a number"));
  }
}

TEST(LoadCsv, AMissingFileIsACsvErrorNamingThePath) {
  const std::string path = "/nonexistent-zerolr-dir/missing.csv";
  try {
    load_csv<double>(path, "y");
    ADD_FAILURE() << "no CsvError";
  } catch (const CsvError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(path + ": cannot open: no such file"));
  }
}

TEST(LoadCsv, ADirectoryIsACsvErrorSayingSo) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  try {
    load_csv<float>(dir, "y");
    ADD_FAILURE() << "no CsvError";
  } catch (const CsvError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(dir + ": cannot read: it is a directory"));
  }
}

}  // namespace
}  // namespace zerolr
