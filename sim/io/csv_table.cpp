#include "sim/io/csv_table.hpp"

#include "core/error.hpp"

#include <csv.h>

#include <fstream>
#include <iterator>

namespace ketaplast {

namespace {

struct Rows {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> current;
};

void on_field(void* text, std::size_t length, void* data) {
    static_cast<Rows*>(data)->current.emplace_back(static_cast<const char*>(text), length);
}

void on_row(int /*terminator*/, void* data) {
    auto* rows = static_cast<Rows*>(data);
    rows->rows.push_back(std::move(rows->current));
    rows->current.clear();
}

} // namespace

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot read the file");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    csv_parser parser{};
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) throw RunError("libcsv: cannot initialise");
    Rows rows;
    const bool parsed =
        csv_parse(&parser, text.data(), text.size(), on_field, on_row, &rows) == text.size() &&
        csv_fini(&parser, on_field, on_row, &rows) == 0;
    const std::string error = parsed ? "" : csv_strerror(csv_error(&parser));
    csv_free(&parser);
    if (!parsed) throw InputError(path + ": not a valid CSV file (" + error + ")");
    return rows.rows;
}

std::string csv_line(const std::vector<std::string>& fields) {
    std::string line;
    for (const std::string& f : fields) {
        if (!line.empty()) line += ',';
        // csv_write quotes every field; plain fields are kept bare, so numbers stay numbers to a reader.
        if (f.find_first_of(",\"\r\n") == std::string::npos) {
            line += f;
            continue;
        }
        std::string quoted(csv_write(nullptr, 0, f.data(), f.size()), '\0');
        csv_write(quoted.data(), quoted.size(), f.data(), f.size());
        line += quoted;
    }
    return line + "\n";
}

} // namespace ketaplast
