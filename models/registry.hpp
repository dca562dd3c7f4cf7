// Models by name. A new model is added here, in one place, and the engine, the config loader and
// `ketaplast models` know it; the engine has no switch over model names.
#pragma once

#include "models/neuron_group.hpp"
#include "models/parameters.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ketaplast {

enum class ModelKind {
    neuron, // integrates synaptic input, has receptors
    source, // emits spikes only
};

struct ModelInfo {
    std::string name;
    std::string description;
    ModelKind kind = ModelKind::neuron;
    ReceptorKind receptor_kind = ReceptorKind::conductance;
    ParamSchema params;
    std::function<std::unique_ptr<NeuronGroup>(const GroupSetup&)> create;
};

class ModelRegistry {
  public:
    void add(ModelInfo info) { models_.push_back(std::move(info)); }
    const ModelInfo* find(const std::string& name) const {
        for (const auto& m : models_)
            if (m.name == name) return &m;
        return nullptr;
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& m : models_)
            out.push_back(m.name);
        return out;
    }
    const std::vector<ModelInfo>& all() const { return models_; }

  private:
    std::vector<ModelInfo> models_;
};

// The registry of the models shipped with Ketaplast.
const ModelRegistry& builtin_models();

} // namespace ketaplast
