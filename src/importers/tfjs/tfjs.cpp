// TF.js import entry point: reads model.json, loads the weights, dispatches on the flavour.
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "importers/tfjs/layers.h"

namespace morsel::tfjs {

using json = nlohmann::json;

Result<ImportResult> import_model(const std::string& path, const ImportOptions& options) {
  std::string file = path;
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) file = path + "/model.json";
  std::ifstream f(file, std::ios::binary | std::ios::ate);
  if (!f) return MORSEL_ERROR(IO_ERROR, "cannot open %s", file.c_str());
  const std::streamoff size = f.tellg();
  if (size < 0 || size > (std::streamoff{256} << 20))
    return MORSEL_ERROR(IO_ERROR, "%s: unreadable or larger than 256 MiB", file.c_str());
  f.seekg(0);
  std::string text(static_cast<size_t>(size), '\0');
  if (!f.read(text.data(), size)) return MORSEL_ERROR(IO_ERROR, "cannot read %s", file.c_str());
  const size_t slash = file.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : file.substr(0, slash);

  json mj;
  try {
    mj = json::parse(text);
  } catch (const std::exception& e) {
    return MORSEL_ERROR(INVALID_MODEL, "%s is not valid JSON: %s", file.c_str(), e.what());
  }
  if (!mj.is_object() || !mj.contains("modelTopology"))
    return MORSEL_ERROR(INVALID_MODEL, "%s is not a TF.js model.json (no modelTopology)",
                        file.c_str());
  std::map<std::string, Tensor> weights;
  if (mj.contains("weightsManifest")) {
    MORSEL_ASSIGN_OR_RETURN(weights, load_weights(mj.at("weightsManifest").dump(), dir,
                                                  options.keep_compact_weights));
  }
  ImportResult out;
  const json& topo = mj.at("modelTopology");
  const bool is_graph = (mj.contains("format") && mj.at("format") == "graph-model") ||
                        (topo.is_object() && topo.contains("node"));
  if (is_graph) {
    MORSEL_RETURN_IF_ERROR(import_graph_model(mj, weights, &out));
  } else {
    MORSEL_RETURN_IF_ERROR(import_layers_model(mj, weights, &out));
  }
  out.graph.remove_dead();
  MORSEL_RETURN_IF_ERROR(out.graph.validate().with_context("imported graph"));
  MORSEL_RETURN_IF_ERROR(out.graph.infer_shapes());
  try {
    for (const json& g : mj.value("weightsManifest", json::array()))
      for (const json& w : g.at("weights"))
        if (w.contains("quantization")) {
          out.notes.push_back("weights are " + w.at("quantization").value("dtype", std::string("?")) +
                              "-quantized in the source; " +
                              (options.keep_compact_weights ? "kept compact" : "expanded to f32"));
          goto done;
        }
  } catch (...) {
  }
done:
  return out;
}

}  // namespace morsel::tfjs
