// One exception hierarchy with context. The CLI turns these into one message and an exit code:
// InputError -> 2 (bad config, bad command line, bad file), RunError -> 1 (failure during the run).
#pragma once

#include <stdexcept>
#include <string>

namespace ketaplast {

class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Bad input: config file, CLI arguments, input files. Exit code 2.
class InputError : public Error {
  public:
    using Error::Error;
};

// A config problem located in a file: "file:line:col: key 'a.b': reason".
class ConfigError : public InputError {
  public:
    ConfigError(const std::string& file, int line, int column, const std::string& key,
                const std::string& reason)
        : InputError(format(file, line, column, key, reason)), file_(file), key_(key), reason_(reason) {}
    const std::string& file() const { return file_; }
    const std::string& key() const { return key_; }
    const std::string& reason() const { return reason_; }

  private:
    static std::string format(const std::string& file, int line, int column, const std::string& key,
                              const std::string& reason) {
        std::string out = file;
        if (line > 0) {
            out += ':';
            out += std::to_string(line);
            out += ':';
            out += std::to_string(column);
        }
        out += ": ";
        if (!key.empty()) {
            out += "key '";
            out += key;
            out += "': ";
        }
        out += reason;
        return out;
    }
    std::string file_, key_, reason_;
};

// A failure during the run (I/O error while writing, numerical blow-up). Exit code 1.
class RunError : public Error {
  public:
    using Error::Error;
};

} // namespace ketaplast
