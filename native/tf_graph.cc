// A thin Node binding of TensorFlow's graph C API (TF_Graph, TF_Session):
// build a graph op by op from JavaScript, then run it in a session.
//
// addGradients() adds TensorFlow's own symbolic gradients (TF_AddGradients,
// the C++ gradient registry: Conv2D, MaxPool, BiasAdd, Relu, MatMul, ...),
// so a training step for any stack of those layers needs no hand-written
// backward pass.
//
// Why: tfjs-node runs every op eagerly, one JavaScript -> C++ round trip
// each. A training step run as one session call skips those round trips and
// lets TensorFlow's graph optimizer (grappler) fuse MatMul + BiasAdd + Relu,
// which is how Keras runs `model.fit`. The graph itself is written in
// TypeScript (src/train/graph.ts); this file only forwards calls.
//
// Built by scripts/setup.mjs (node-gyp) against the same libtensorflow that
// @tensorflow/tfjs-node loads, so both share one TensorFlow runtime.
#include <napi.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "tensorflow/c/c_api.h"

namespace {

struct Status {
  TF_Status* status = TF_NewStatus();
  ~Status() { TF_DeleteStatus(status); }
  bool ok() const { return TF_GetCode(status) == TF_OK; }
  std::string message() const { return TF_Message(status); }
};

TF_DataType ParseDtype(const Napi::Env& env, const std::string& name) {
  if (name == "float32") return TF_FLOAT;
  if (name == "int32") return TF_INT32;
  if (name == "int64") return TF_INT64;
  if (name == "bool") return TF_BOOL;
  if (name == "uint16") return TF_UINT16;  // as an attr only: dropout's 16-bit random draws (graph.ts)
  throw Napi::TypeError::New(env, "unsupported dtype '" + name + "' (expected float32, int32, int64, bool or uint16)");
}

std::string DtypeName(TF_DataType dtype) {
  switch (dtype) {
    case TF_FLOAT: return "float32";
    case TF_INT32: return "int32";
    case TF_INT64: return "int64";
    case TF_BOOL: return "bool";
    case TF_UINT16: return "uint16";
    default: return "dtype" + std::to_string(static_cast<int>(dtype));
  }
}

std::vector<int64_t> ParseShape(const Napi::Value& value) {
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> dims(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) dims[i] = array.Get(i).As<Napi::Number>().Int64Value();
  return dims;
}

// A host tensor from {dtype, shape, data: TypedArray}; copies the data.
TF_Tensor* TensorFromJs(const Napi::Env& env, const Napi::Object& spec) {
  TF_DataType dtype = ParseDtype(env, spec.Get("dtype").As<Napi::String>().Utf8Value());
  std::vector<int64_t> dims = ParseShape(spec.Get("shape"));
  Napi::TypedArray data = spec.Get("data").As<Napi::TypedArray>();
  size_t bytes = data.ByteLength();
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  size_t expected = static_cast<size_t>(count) * TF_DataTypeSize(dtype);
  if (bytes != expected) {
    throw Napi::RangeError::New(env, "tensor data has " + std::to_string(bytes) + " bytes, its shape and dtype need " + std::to_string(expected));
  }
  TF_Tensor* tensor = TF_AllocateTensor(dtype, dims.data(), static_cast<int>(dims.size()), bytes);
  if (bytes > 0) {
    const uint8_t* source = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
    std::memcpy(TF_TensorData(tensor), source, bytes);
  }
  return tensor;
}

Napi::Object TensorToJs(const Napi::Env& env, TF_Tensor* tensor) {
  TF_DataType dtype = TF_TensorType(tensor);
  int rank = TF_NumDims(tensor);
  Napi::Array shape = Napi::Array::New(env, rank);
  int64_t count = 1;
  for (int i = 0; i < rank; i++) {
    int64_t d = TF_Dim(tensor, i);
    count *= d;
    shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(d)));
  }
  size_t bytes = TF_TensorByteSize(tensor);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes);
  if (bytes > 0) std::memcpy(buffer.Data(), TF_TensorData(tensor), bytes);
  Napi::Value data;
  switch (dtype) {
    case TF_FLOAT: data = Napi::Float32Array::New(env, count, buffer, 0); break;
    case TF_INT32: data = Napi::Int32Array::New(env, count, buffer, 0); break;
    case TF_INT64: data = Napi::BigInt64Array::New(env, count, buffer, 0); break;
    case TF_BOOL: data = Napi::Uint8Array::New(env, count, buffer, 0); break;
    default: throw Napi::TypeError::New(env, "cannot return a tensor of " + DtypeName(dtype));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("dtype", DtypeName(dtype));
  result.Set("shape", shape);
  result.Set("data", data);
  return result;
}

class Graph : public Napi::ObjectWrap<Graph> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Graph", {InstanceMethod("addOp", &Graph::AddOp), InstanceMethod("numOutputs", &Graph::NumOutputs), InstanceMethod("addGradients", &Graph::AddGradients)});
  }

  explicit Graph(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Graph>(info), graph_(TF_NewGraph()) {}
  ~Graph() override { TF_DeleteGraph(graph_); }

  TF_Graph* graph() const { return graph_; }

  TF_Output OutputOf(const Napi::Env& env, const Napi::Value& value) const {
    Napi::Array pair = value.As<Napi::Array>();
    uint32_t op = pair.Get(0u).As<Napi::Number>().Uint32Value();
    int index = pair.Get(1u).As<Napi::Number>().Int32Value();
    return {OpAt(env, op), index};
  }

  TF_Operation* OpAt(const Napi::Env& env, uint32_t id) const {
    if (id >= ops_.size()) throw Napi::RangeError::New(env, "no op with id " + std::to_string(id) + " in this graph");
    return ops_[id];
  }

 private:
  // addOp(type, name, inputs, attrs, controlInputs) -> op id.
  // inputs: [op, index] for a single input or an array of those for a list input.
  // attrs: {name, kind, value}; kind in type, int, float, bool, shape, string, tensor, listInt, listType.
  Napi::Value AddOp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string type = info[0].As<Napi::String>().Utf8Value();
    std::string name = info[1].As<Napi::String>().Utf8Value();
    TF_OperationDescription* desc = TF_NewOperation(graph_, type.c_str(), name.c_str());
    Napi::Array inputs = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < inputs.Length(); i++) {
      Napi::Array input = inputs.Get(i).As<Napi::Array>();
      if (input.Length() > 0 && input.Get(0u).IsArray()) {
        std::vector<TF_Output> list;
        for (uint32_t j = 0; j < input.Length(); j++) list.push_back(OutputOf(env, input.Get(j)));
        TF_AddInputList(desc, list.data(), static_cast<int>(list.size()));
      } else {
        TF_AddInput(desc, OutputOf(env, input));
      }
    }
    std::vector<TF_Tensor*> attrTensors;
    Napi::Array attrs = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < attrs.Length(); i++) {
      Napi::Object attr = attrs.Get(i).As<Napi::Object>();
      std::string attrName = attr.Get("name").As<Napi::String>().Utf8Value();
      std::string kind = attr.Get("kind").As<Napi::String>().Utf8Value();
      Napi::Value value = attr.Get("value");
      const char* n = attrName.c_str();
      if (kind == "type") {
        TF_SetAttrType(desc, n, ParseDtype(env, value.As<Napi::String>().Utf8Value()));
      } else if (kind == "int") {
        TF_SetAttrInt(desc, n, value.As<Napi::Number>().Int64Value());
      } else if (kind == "float") {
        TF_SetAttrFloat(desc, n, value.As<Napi::Number>().FloatValue());
      } else if (kind == "bool") {
        TF_SetAttrBool(desc, n, value.As<Napi::Boolean>().Value() ? 1 : 0);
      } else if (kind == "string") {
        std::string s = value.As<Napi::String>().Utf8Value();
        TF_SetAttrString(desc, n, s.data(), s.size());
      } else if (kind == "shape") {
        std::vector<int64_t> dims = ParseShape(value);
        TF_SetAttrShape(desc, n, dims.data(), static_cast<int>(dims.size()));
      } else if (kind == "listInt") {
        std::vector<int64_t> values = ParseShape(value);
        TF_SetAttrIntList(desc, n, values.data(), static_cast<int>(values.size()));
      } else if (kind == "listType") {
        Napi::Array array = value.As<Napi::Array>();
        std::vector<TF_DataType> types;
        for (uint32_t j = 0; j < array.Length(); j++) types.push_back(ParseDtype(env, array.Get(j).As<Napi::String>().Utf8Value()));
        TF_SetAttrTypeList(desc, n, types.data(), static_cast<int>(types.size()));
      } else if (kind == "tensor") {
        TF_Tensor* tensor = TensorFromJs(env, value.As<Napi::Object>());
        attrTensors.push_back(tensor);
        Status status;
        TF_SetAttrTensor(desc, n, tensor, status.status);
        if (!status.ok()) throw Napi::Error::New(env, "attr '" + attrName + "' of " + type + ": " + status.message());
      } else {
        throw Napi::TypeError::New(env, "unknown attr kind '" + kind + "' for attr '" + attrName + "' of " + type);
      }
    }
    if (info.Length() > 4 && info[4].IsArray()) {
      Napi::Array control = info[4].As<Napi::Array>();
      for (uint32_t i = 0; i < control.Length(); i++) TF_AddControlInput(desc, OpAt(env, control.Get(i).As<Napi::Number>().Uint32Value()));
    }
    Status status;
    TF_Operation* op = TF_FinishOperation(desc, status.status);
    for (TF_Tensor* tensor : attrTensors) TF_DeleteTensor(tensor);
    if (!status.ok()) throw Napi::Error::New(env, type + " '" + name + "': " + status.message());
    return Napi::Number::New(env, static_cast<double>(IdOf(op)));
  }

  // The id of an op, registering ops the graph made itself (gradient ops).
  uint32_t IdOf(TF_Operation* op) {
    auto found = ids_.find(op);
    if (found != ids_.end()) return found->second;
    ops_.push_back(op);
    uint32_t id = static_cast<uint32_t>(ops_.size() - 1);
    ids_[op] = id;
    return id;
  }

  // addGradients(ys, xs, dys?) -> [op, index][]: d(sum of ys)/d(xs) as new
  // graph outputs (TF_AddGradients). dys, if given, seeds each y's gradient.
  Napi::Value AddGradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array ysIn = info[0].As<Napi::Array>();
    Napi::Array xsIn = info[1].As<Napi::Array>();
    std::vector<TF_Output> ys, xs, dys;
    for (uint32_t i = 0; i < ysIn.Length(); i++) ys.push_back(OutputOf(env, ysIn.Get(i)));
    for (uint32_t i = 0; i < xsIn.Length(); i++) xs.push_back(OutputOf(env, xsIn.Get(i)));
    if (info.Length() > 2 && info[2].IsArray()) {
      Napi::Array dysIn = info[2].As<Napi::Array>();
      if (dysIn.Length() != ysIn.Length()) throw Napi::RangeError::New(env, "addGradients: dys must have one entry per y");
      for (uint32_t i = 0; i < dysIn.Length(); i++) dys.push_back(OutputOf(env, dysIn.Get(i)));
    }
    std::vector<TF_Output> dx(xs.size());
    Status status;
    TF_AddGradients(graph_, ys.data(), static_cast<int>(ys.size()), xs.data(), static_cast<int>(xs.size()), dys.empty() ? nullptr : dys.data(), status.status, dx.data());
    if (!status.ok()) throw Napi::Error::New(env, "TF_AddGradients: " + status.message());
    Napi::Array result = Napi::Array::New(env, dx.size());
    for (size_t i = 0; i < dx.size(); i++) {
      if (dx[i].oper == nullptr) throw Napi::Error::New(env, "TF_AddGradients: x " + std::to_string(i) + " does not affect the ys (no gradient)");
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::Number::New(env, static_cast<double>(IdOf(dx[i].oper))));
      pair.Set(1u, Napi::Number::New(env, dx[i].index));
      result.Set(static_cast<uint32_t>(i), pair);
    }
    return result;
  }

  Napi::Value NumOutputs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), TF_OperationNumOutputs(OpAt(info.Env(), info[0].As<Napi::Number>().Uint32Value())));
  }

  TF_Graph* graph_;
  std::vector<TF_Operation*> ops_;
  std::unordered_map<TF_Operation*, uint32_t> ids_;
};

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session", {InstanceMethod("run", &Session::Run), InstanceMethod("runTraced", &Session::RunTraced), InstanceMethod("close", &Session::Close)});
  }

  // new Session(graph, config?): the graph must be complete; ops added later are not seen by the session.
  // config: a serialized tensorflow.ConfigProto (thread counts, graph optimizer and XLA settings),
  // encoded on the JavaScript side (graph.ts) so this file needs no protobuf library.
  explicit Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env env = info.Env();
    graphRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    graph_ = Graph::Unwrap(info[0].As<Napi::Object>());
    TF_SessionOptions* options = TF_NewSessionOptions();
    Status status;
    if (info.Length() > 1 && info[1].IsTypedArray()) {
      Napi::Uint8Array config = info[1].As<Napi::Uint8Array>();
      TF_SetConfig(options, config.Data(), config.ByteLength(), status.status);
      if (!status.ok()) {
        TF_DeleteSessionOptions(options);
        throw Napi::Error::New(env, "invalid session config: " + status.message());
      }
    }
    session_ = TF_NewSession(graph_->graph(), options, status.status);
    TF_DeleteSessionOptions(options);
    if (!status.ok()) throw Napi::Error::New(env, "could not create a TensorFlow session: " + status.message());
  }

  ~Session() override { CloseSession(); }

 private:
  void CloseSession() {
    if (session_ == nullptr) return;
    Status status;
    TF_CloseSession(session_, status.status);
    TF_DeleteSession(session_, status.status);
    session_ = nullptr;
  }

  // run(feeds: {output, dtype, shape, data}[], fetches: [op, index][], targets: op ids) -> {dtype, shape, data}[]
  Napi::Value Run(const Napi::CallbackInfo& info) { return RunWith(info, nullptr, nullptr); }

  // runTraced(feeds, fetches, targets, runOptions: Uint8Array) -> {outputs, metadata: Uint8Array}:
  // the same run with a serialized tensorflow.RunOptions (e.g. trace_level FULL_TRACE), returning the
  // serialized tensorflow.RunMetadata (per-op step_stats) for profiling (bench/profile-step.ts).
  Napi::Value RunTraced(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array options = info[3].As<Napi::Uint8Array>();
    TF_Buffer* runOptions = TF_NewBufferFromString(options.Data(), options.ByteLength());
    TF_Buffer* metadata = TF_NewBuffer();
    Napi::Value outputs;
    try {
      outputs = RunWith(info, runOptions, metadata);
    } catch (...) {
      TF_DeleteBuffer(runOptions);
      TF_DeleteBuffer(metadata);
      throw;
    }
    Napi::Uint8Array bytes = Napi::Uint8Array::New(env, metadata->length);
    if (metadata->length > 0) std::memcpy(bytes.Data(), metadata->data, metadata->length);
    TF_DeleteBuffer(runOptions);
    TF_DeleteBuffer(metadata);
    Napi::Object result = Napi::Object::New(env);
    result.Set("outputs", outputs);
    result.Set("metadata", bytes);
    return result;
  }

  Napi::Value RunWith(const Napi::CallbackInfo& info, const TF_Buffer* runOptions, TF_Buffer* metadata) {
    Napi::Env env = info.Env();
    if (session_ == nullptr) throw Napi::Error::New(env, "this session is closed");
    Napi::Array feeds = info[0].As<Napi::Array>();
    Napi::Array fetches = info[1].As<Napi::Array>();
    Napi::Array targets = info[2].As<Napi::Array>();
    std::vector<TF_Output> inputs;
    std::vector<TF_Tensor*> inputValues;
    std::vector<TF_Output> outputs;
    std::vector<TF_Operation*> targetOps;
    auto freeInputs = [&inputValues]() {
      for (TF_Tensor* tensor : inputValues) TF_DeleteTensor(tensor);
    };
    try {
      for (uint32_t i = 0; i < feeds.Length(); i++) {
        Napi::Object feed = feeds.Get(i).As<Napi::Object>();
        inputs.push_back(graph_->OutputOf(env, feed.Get("output")));
        inputValues.push_back(TensorFromJs(env, feed));
      }
      for (uint32_t i = 0; i < fetches.Length(); i++) outputs.push_back(graph_->OutputOf(env, fetches.Get(i)));
      for (uint32_t i = 0; i < targets.Length(); i++) targetOps.push_back(graph_->OpAt(env, targets.Get(i).As<Napi::Number>().Uint32Value()));
    } catch (...) {
      freeInputs();
      throw;
    }
    std::vector<TF_Tensor*> outputValues(outputs.size(), nullptr);
    Status status;
    TF_SessionRun(session_, runOptions, inputs.data(), inputValues.data(), static_cast<int>(inputs.size()), outputs.data(), outputValues.data(),
                  static_cast<int>(outputs.size()), targetOps.data(), static_cast<int>(targetOps.size()), metadata, status.status);
    freeInputs();
    if (!status.ok()) {
      for (TF_Tensor* tensor : outputValues) if (tensor != nullptr) TF_DeleteTensor(tensor);
      throw Napi::Error::New(env, "TensorFlow session run failed: " + status.message());
    }
    Napi::Array results = Napi::Array::New(env, outputValues.size());
    for (size_t i = 0; i < outputValues.size(); i++) {
      results.Set(static_cast<uint32_t>(i), TensorToJs(env, outputValues[i]));
      TF_DeleteTensor(outputValues[i]);
    }
    return results;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseSession();
    return info.Env().Undefined();
  }

  Napi::ObjectReference graphRef_;  // keeps the graph alive as long as the session
  Graph* graph_ = nullptr;
  TF_Session* session_ = nullptr;
};

// loadOpLibrary(path): register the ops and kernels of a shared library
// (native/fused_ops.cc) with this process's TensorFlow runtime; throws
// TensorFlow's message if it cannot. Loading the same library twice is harmless.
Napi::Value LoadOpLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadOpLibrary(path) needs the library's path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Status status;
  TF_Library* library = TF_LoadLibrary(path.c_str(), status.status);
  if (!status.ok()) throw Napi::Error::New(env, "could not load the op library " + path + ": " + status.message());
  // The ops stay registered for the life of the process; only the handle goes.
  TF_DeleteLibraryHandle(library);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("loadOpLibrary", Napi::Function::New(env, LoadOpLibrary));
  exports.Set("Graph", Graph::Define(env));
  exports.Set("Session", Session::Define(env));
  exports.Set("tensorflowVersion", Napi::String::New(env, TF_Version()));
  return exports;
}

}  // namespace

NODE_API_MODULE(tf_graph, Init)
