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
#include <cstdint>

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

// Compiled twice, for AVX2 and the baseline; the loader picks one for the CPU.
__attribute__((target_clones("avx2", "default"))) void UpdateWeights(float* var, float* ms, float* mom, const float* grad, RMSPropScalars s, int64_t begin, int64_t end) {
  if (s.momentum == 0.0f) {
    UpdateRange<false>(var, ms, mom, grad, s, begin, end);
  } else {
    UpdateRange<true>(var, ms, mom, grad, s, begin, end);
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
    .Input("grad: T")
    .Attr("T: {float}")
    .Attr("use_locking: bool = false")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext*) { return absl::OkStatus(); })
    .Doc("ResourceApplyRMSProp in one pass (mnist-lab, native/fused_ops.cc).");

// Weights with fewer elements are updated on the calling thread.
constexpr int64_t kParallelFrom = 1 << 16;

class ApplyRMSPropOp : public OpKernel {
 public:
  explicit ApplyRMSPropOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("use_locking", &use_exclusive_lock_));
  }

  void Compute(OpKernelContext* ctx) override {
    auto locks = tensorflow::MaybeLockVariableInputMutexesInOrder<CPUDevice, float>(ctx, use_exclusive_lock_, false, {0, 1, 2});
    Tensor var, ms, mom;
    OP_REQUIRES_OK(ctx, tensorflow::GetInputTensorFromVariable<CPUDevice, float>(ctx, 0, use_exclusive_lock_, false, &var));
    OP_REQUIRES_OK(ctx, tensorflow::GetInputTensorFromVariable<CPUDevice, float>(ctx, 1, use_exclusive_lock_, false, &ms));
    OP_REQUIRES_OK(ctx, tensorflow::GetInputTensorFromVariable<CPUDevice, float>(ctx, 2, use_exclusive_lock_, false, &mom));
    OP_REQUIRES(ctx, var.IsInitialized() && ms.IsInitialized() && mom.IsInitialized(),
                absl::FailedPreconditionError("MnistLabApplyRMSProp: a variable is not initialized"));
    const Tensor& grad = ctx->input(7);
    OP_REQUIRES(ctx, var.shape().IsSameSize(ms.shape()) && var.shape().IsSameSize(mom.shape()) && var.shape().IsSameSize(grad.shape()),
                absl::InvalidArgumentError("MnistLabApplyRMSProp: var, ms, mom and grad must have the same shape; var " + var.shape().DebugString() +
                                           ", ms " + ms.shape().DebugString() + ", mom " + mom.shape().DebugString() + ", grad " + grad.shape().DebugString()));
    RMSPropScalars s{};
    const Tensor* scalars[] = {&ctx->input(3), &ctx->input(4), &ctx->input(5), &ctx->input(6)};
    for (const Tensor* t : scalars) {
      OP_REQUIRES(ctx, tensorflow::TensorShapeUtils::IsScalar(t->shape()), absl::InvalidArgumentError("MnistLabApplyRMSProp: lr, rho, momentum and epsilon must be scalars"));
    }
    s.lr = scalars[0]->scalar<float>()();
    s.rho = scalars[1]->scalar<float>()();
    s.momentum = scalars[2]->scalar<float>()();
    s.epsilon = scalars[3]->scalar<float>()();

    float* v = var.flat<float>().data();
    float* m = ms.flat<float>().data();
    float* p = mom.flat<float>().data();
    const float* g = grad.flat<float>().data();
    const int64_t n = var.NumElements();
    const auto update = [=](int64_t begin, int64_t end) { UpdateWeights(v, m, p, g, s, begin, end); };
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
  bool use_exclusive_lock_ = false;
};

REGISTER_KERNEL_BUILDER(Name("MnistLabApplyRMSProp").Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("T"), ApplyRMSPropOp);

}  // namespace mnist_lab
