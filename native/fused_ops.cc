// One TensorFlow op of our own, loaded into the process with TF_LoadLibrary
// (native/tf_graph.cc loadOpLibrary, called by fusedOps() in src/train/graph.ts):
//
//   MnistLabApplyRMSProp: TensorFlow's ResourceApplyRMSProp, the same inputs
//   and the same arithmetic in the same order,
//     ms  += (grad^2 - ms) * (1 - rho)
//     mom  = mom * momentum + (grad * lr) / sqrt(ms + epsilon)
//     var -= mom
//   in one pass over the arrays instead of three.
//
// Why: the update is bound by memory traffic (for S1-base's 784x512 kernel
// TensorFlow's took about 0.33 ms a step, the last thing a step does before
// the next can start; bench/README.md, "Profiling the graph step"). One pass
// alone gained little; what pays is not streaming the momentum slot when
// momentum is 0, Keras's default. Floating-point contraction is off
// (-ffp-contract=off), so each element gets the stock kernel's rounding steps.
//
// Built by scripts/setup.mjs against the tensorflow-cpu wheel's headers and
// libtensorflow_framework, the runtime tfjs-node loads.
#define EIGEN_USE_THREADS  // the kernel splits its work over TensorFlow's intra-op thread pool

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/kernels/training_op_helpers.h"

namespace mnist_lab {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using CPUDevice = Eigen::ThreadPoolDevice;

struct RMSPropScalars {
  float lr, rho, momentum, epsilon;
};

// Elements [begin, end) of one update: a plain loop the compiler vectorises.
// With momentum 0 (Keras's default) `mom * momentum` is 0 and `mom` is
// neither read nor written: the update is bound by memory traffic, and that
// is two of the seven array passes. Keras keeps that slot at zero anyway.
template <bool kMomentum>
__attribute__((always_inline)) inline void UpdateRange(float* var, float* ms, float* mom, const float* grad, RMSPropScalars s, int64_t begin, int64_t end) {
  const float decay = 1.0f - s.rho;
  for (int64_t i = begin; i < end; i++) {
    const float g = grad[i];
    const float m = ms[i] + (g * g - ms[i]) * decay;
    ms[i] = m;
    const float increment = (g * s.lr) / std::sqrt(m + s.epsilon);
    if (kMomentum) {
      const float step = mom[i] * s.momentum + increment;
      mom[i] = step;
      var[i] -= step;
    } else {
      var[i] -= increment;
    }
  }
}

// The gradient as partial sums (one per piece of the batch, see
// src/train/graph-step.ts): added in order into `sum` for [begin, end), as
// AddN would, inside the update's own pass.
template <bool kMomentum>
__attribute__((always_inline)) inline void UpdateRangeSummed(float* var, float* ms, float* mom, const float* const* grads, int n_grads, RMSPropScalars s, int64_t begin, int64_t end) {
  constexpr int64_t kBlock = 1024;
  float sum[kBlock];
  for (int64_t start = begin; start < end; start += kBlock) {
    const int64_t stop = std::min(end, start + kBlock);
    for (int64_t i = start; i < stop; i++) sum[i - start] = grads[0][i] + grads[1][i];
    for (int k = 2; k < n_grads; k++)
      for (int64_t i = start; i < stop; i++) sum[i - start] += grads[k][i];
    UpdateRange<kMomentum>(var + start, ms + start, mom + start, sum, s, 0, stop - start);
  }
}

// Compiled twice, for AVX2 and the baseline; the loader picks one for the CPU.
__attribute__((target_clones("avx2", "default"))) void UpdateWeights(float* var, float* ms, float* mom, const float* const* grads, int n_grads, RMSPropScalars s, int64_t begin, int64_t end) {
  const bool momentum = s.momentum != 0.0f;
  if (n_grads == 1) {
    if (momentum) UpdateRange<true>(var, ms, mom, grads[0], s, begin, end);
    else UpdateRange<false>(var, ms, mom, grads[0], s, begin, end);
  } else {
    if (momentum) UpdateRangeSummed<true>(var, ms, mom, grads, n_grads, s, begin, end);
    else UpdateRangeSummed<false>(var, ms, mom, grads, n_grads, s, begin, end);
  }
}

REGISTER_OP("MnistLabApplyRMSProp")
    .Input("var: resource")
    .Input("ms: resource")
    .Input("mom: resource")
    .Input("lr: T")
    .Input("rho: T")
    .Input("momentum: T")
    .Input("epsilon: T")
    .Input("grad: N * T")
    .Attr("T: {float}")
    .Attr("N: int >= 1 = 1")
    .Attr("use_locking: bool = false")
    .Attr("shard: int >= 0 = 0")
    .Attr("shards: int >= 1 = 1")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext*) { return absl::OkStatus(); })
    .Doc(
        "ResourceApplyRMSProp in one pass (mnist-lab, native/fused_ops.cc). grad is the gradient as N partial sums, "
        "added in order. With shards > 1 the op updates only the shard-th of `shards` equal ranges of the elements, "
        "in place, so that `shards` ops (one per core) update one weight side by side; they must run after every "
        "read of the weight.");

// Weights with fewer elements are updated on the calling thread.
constexpr int64_t kParallelFrom = 1 << 16;

class ApplyRMSPropOp : public OpKernel {
 public:
  explicit ApplyRMSPropOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("use_locking", &use_exclusive_lock_));
    OP_REQUIRES_OK(context, context->GetAttr("shard", &shard_));
    OP_REQUIRES_OK(context, context->GetAttr("shards", &shards_));
    OP_REQUIRES(context, shard_ < shards_, absl::InvalidArgumentError("MnistLabApplyRMSProp: shard " + std::to_string(shard_) + " of " + std::to_string(shards_) + " does not exist; shard must be 0 to shards - 1"));
  }

  void Compute(OpKernelContext* ctx) override {
    RMSPropScalars s{};
    const Tensor* scalars[] = {&ctx->input(3), &ctx->input(4), &ctx->input(5), &ctx->input(6)};
    for (const Tensor* t : scalars) {
      OP_REQUIRES(ctx, tensorflow::TensorShapeUtils::IsScalar(t->shape()), absl::InvalidArgumentError("MnistLabApplyRMSProp: lr, rho, momentum and epsilon must be scalars"));
    }
    s.lr = scalars[0]->scalar<float>()();
    s.rho = scalars[1]->scalar<float>()();
    s.momentum = scalars[2]->scalar<float>()();
    s.epsilon = scalars[3]->scalar<float>()();
    tensorflow::OpInputList grads;
    OP_REQUIRES_OK(ctx, ctx->input_list("grad", &grads));
    std::vector<const float*> g(grads.size());
    for (int k = 0; k < grads.size(); k++) g[k] = grads[k].flat<float>().data();
    if (shards_ > 1) {
      ComputeShard(ctx, grads, g, s);
      return;
    }

    auto locks = tensorflow::MaybeLockVariableInputMutexesInOrder<CPUDevice, float>(ctx, use_exclusive_lock_, false, {0, 1, 2});
    Tensor var, ms, mom;
    OP_REQUIRES_OK(ctx, tensorflow::GetInputTensorFromVariable<CPUDevice, float>(ctx, 0, use_exclusive_lock_, false, &var));
    OP_REQUIRES_OK(ctx, tensorflow::GetInputTensorFromVariable<CPUDevice, float>(ctx, 1, use_exclusive_lock_, false, &ms));
    OP_REQUIRES_OK(ctx, tensorflow::GetInputTensorFromVariable<CPUDevice, float>(ctx, 2, use_exclusive_lock_, false, &mom));
    OP_REQUIRES(ctx, var.IsInitialized() && ms.IsInitialized() && mom.IsInitialized(),
                absl::FailedPreconditionError("MnistLabApplyRMSProp: a variable is not initialized"));
    OP_REQUIRES_OK(ctx, CheckShapes(var, ms, mom, grads));

    float* v = var.flat<float>().data();
    float* m = ms.flat<float>().data();
    float* p = mom.flat<float>().data();
    const int n_grads = grads.size();
    const int64_t n = var.NumElements();
    const auto update = [v, m, p, g, n_grads, s](int64_t begin, int64_t end) { UpdateWeights(v, m, p, g.data(), n_grads, s, begin, end); };
    // Small weights (biases, the output layer) on this thread: handing a few
    // microseconds of work to the pool means waiting for a thread that may be
    // busy with a matrix product. Large ones split over the intra-op threads.
    if (n < kParallelFrom) {
      update(0, n);
    } else {
      // Per element: four loads, three stores, a square root and a division.
      const Eigen::TensorOpCost cost(16, 12, 40);
      ctx->eigen_device<CPUDevice>().parallelFor(n, cost, update);
    }
  }

 private:
  static absl::Status CheckShapes(const Tensor& var, const Tensor& ms, const Tensor& mom, const tensorflow::OpInputList& grads) {
    bool same = var.shape().IsSameSize(ms.shape()) && var.shape().IsSameSize(mom.shape());
    std::string grad_shapes;
    for (int k = 0; k < grads.size(); k++) {
      same = same && var.shape().IsSameSize(grads[k].shape());
      grad_shapes += (k > 0 ? ", " : "") + grads[k].shape().DebugString();
    }
    if (same) return absl::OkStatus();
    return absl::InvalidArgumentError("MnistLabApplyRMSProp: var, ms, mom and every grad must have the same shape; var " + var.shape().DebugString() +
                                      ", ms " + ms.shape().DebugString() + ", mom " + mom.shape().DebugString() + ", grad " + grad_shapes);
  }

  // One shard: the variables' buffers are updated in place through the
  // resources, without taking a Tensor reference to them. A reference would
  // make the other shards' TensorFlow-style update see a shared buffer and
  // copy it (copy-on-write), so their halves would land in a buffer the
  // variable no longer holds. A buffer still shared (a read not finished)
  // is refused instead of copied: the graph must order the shards after every read.
  void ComputeShard(OpKernelContext* ctx, const tensorflow::OpInputList& grads, const std::vector<const float*>& g, RMSPropScalars s) {
    tensorflow::core::RefCountPtr<tensorflow::Var> resources[3];
    for (int i = 0; i < 3; i++) OP_REQUIRES_OK(ctx, tensorflow::LookupResource(ctx, tensorflow::HandleFromInput(ctx, i), &resources[i]));
    Tensor* var = resources[0]->tensor();
    Tensor* ms = resources[1]->tensor();
    Tensor* mom = resources[2]->tensor();
    OP_REQUIRES(ctx, var->IsInitialized() && ms->IsInitialized() && mom->IsInitialized(),
                absl::FailedPreconditionError("MnistLabApplyRMSProp: a variable is not initialized"));
    OP_REQUIRES_OK(ctx, CheckShapes(*var, *ms, *mom, grads));
    OP_REQUIRES(ctx, var->RefCountIsOne() && ms->RefCountIsOne() && (s.momentum == 0.0f || mom->RefCountIsOne()),
                absl::FailedPreconditionError("MnistLabApplyRMSProp: shard " + std::to_string(shard_) + " of " + std::to_string(shards_) +
                                              " found the variable still read by another op; run the shards after every read of the weight"));
    const int64_t n = var->NumElements();
    const int64_t begin = n * shard_ / shards_;
    const int64_t end = n * (shard_ + 1) / shards_;
    UpdateWeights(var->flat<float>().data(), ms->flat<float>().data(), mom->flat<float>().data(), g.data(), static_cast<int>(g.size()), s, begin, end);
  }

  bool use_exclusive_lock_ = false;
  int shard_ = 0;
  int shards_ = 1;
};

REGISTER_KERNEL_BUILDER(Name("MnistLabApplyRMSProp").Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("T"), ApplyRMSPropOp);

}  // namespace mnist_lab
