// Helpers shared by the tests: temporary directories, running the CLI, reading run outputs.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ketaplast::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
  public:
    explicit TempDir(const std::string& stem) {
        static int counter = 0;
        path_ =
            std::filesystem::temp_directory_path() /
            ("ketaplast_test_" + stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string path() const { return path_.string(); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

inline std::string source_path(const std::string& relative) {
    return std::string(KETAPLAST_SOURCE_DIR) + "/" + relative;
}

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct CommandResult {
    int exit_code;
    std::string output; // stdout and stderr together
};

// Runs the ketaplast binary with the given arguments (a shell fragment).
inline CommandResult run_ketaplast(const std::string& args, const std::string& log_path) {
    const std::string cmd =
        std::string("\"") + KETAPLAST_BINARY + "\" " + args + " > \"" + log_path + "\" 2>&1";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(log_path)};
}

} // namespace ketaplast::test
