// A checked view of one TOML table: typed getters with ranges, and at the end a check that every key
// present was one the schema allows (with a "did you mean" suggestion). All messages carry
// file:line:column and the dotted key path.
#pragma once

#include "core/distribution.hpp"
#include "core/error.hpp"
#include "models/parameters.hpp"

#include <toml++/toml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ketaplast {

class TomlReader {
  public:
    TomlReader(const toml::table& table, std::string path, std::string file)
        : table_(table), path_(std::move(path)), file_(std::move(file)) {}

    const std::string& path() const { return path_; }
    const std::string& file() const { return file_; }
    std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

    // Declare keys that are valid here without reading them now.
    void allow(const std::string& key) { allowed_.insert(key); }
    bool has(const std::string& key) {
        allowed_.insert(key);
        return table_.get(key) != nullptr;
    }
    const toml::node* node(const std::string& key) {
        allowed_.insert(key);
        return table_.get(key);
    }

    [[noreturn]] void fail(const std::string& key, const std::string& reason) const;
    [[noreturn]] void fail_at(const toml::node* node, const std::string& key,
                              const std::string& reason) const;

    double number(const std::string& key, const ParamDef& range); // required unless range has default
    std::optional<double> optional_number(const std::string& key, const ParamDef& range);
    double required_number(const std::string& key, const ParamDef& range);
    std::int64_t integer(const std::string& key, std::int64_t default_value, std::int64_t min,
                         std::int64_t max);
    std::int64_t required_integer(const std::string& key, std::int64_t min, std::int64_t max);
    std::string string(const std::string& key, const std::string& default_value);
    std::string required_string(const std::string& key);
    std::string choice(const std::string& key, const std::vector<std::string>& choices,
                       const std::string& default_value);
    bool boolean(const std::string& key, bool default_value);
    const toml::table* table(const std::string& key); // nullptr if absent; error if not a table
    const toml::array* array(const std::string& key); // nullptr if absent; error if not an array
    std::vector<double> number_array(const std::string& key, std::size_t length, const ParamDef& range);

    // A constant number or an inline table {dist = "uniform"|"normal"|"lognormal", ...}; every
    // value a draw can take must lie in `range`.
    Distribution distribution(const std::string& key, const ParamDef& range);

    // Unknown keys are errors, with the closest allowed key suggested.
    void finish() const;

    static std::string type_name(const toml::node& node);

  private:
    // "missing" for a required key; if a close unrecognised key is present, points at it instead.
    [[noreturn]] void fail_missing(const std::string& key, const std::string& reason) const;

    const toml::table& table_;
    std::string path_, file_;
    std::set<std::string> allowed_;
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

// Closest candidate to `key` by edit distance, or "" if none is close.
std::string closest_key(const std::string& key, const std::vector<std::string>& candidates);

} // namespace ketaplast
