// CSV files through libcsv (Debian libcsv-dev, RFC 4180 quoting): the sweep's point lists and its table.
#pragma once

#include <string>
#include <vector>

namespace ketaplast {

// The rows of a CSV file, each a list of fields (quotes removed, embedded commas and quotes kept). Throws
// InputError naming the file on a read or parse error.
std::vector<std::vector<std::string>> read_csv(const std::string& path);

// One CSV line of `fields`, quoted where a field needs it (a comma, quote or line break), ending in "\n".
std::string csv_line(const std::vector<std::string>& fields);

} // namespace ketaplast
