// Reads an experiment file (TOML), applies --set overrides, validates everything and lowers it to
// an Experiment. No work starts before this has succeeded. Every error is a ConfigError naming the
// file, line, key and reason; unknown keys get the closest valid key as a suggestion.
#pragma once

#include "sim/config/experiment.hpp"

#include <string>
#include <vector>

namespace ketaplast {

struct Override {
    std::string key;   // dotted path; array elements by name or index: populations.E.size
    std::string value; // TOML value text: 10, 0.5, "text", [1, 2], true
};

Override parse_override(const std::string& text); // "key=value"

// Does the TOML document (a run's saved config.toml) hold the override's value at its key? `found` gets the
// document's value there as TOML text ("(absent)" when the key is not there). Numbers compare as numbers
// (2 equals 2.0). `sweep --collect` labels each point from its own config with this.
bool config_holds(const std::string& toml_text, const std::string& name, const Override& o,
                  std::string& found);

Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides = {});

// Same, from TOML text (tests); `name` stands for the file in messages.
Experiment load_experiment_from_string(const std::string& toml_text, const std::string& name,
                                       const std::vector<Override>& overrides = {});

} // namespace ketaplast
