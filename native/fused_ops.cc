// One TensorFlow op of our own, loaded into the process with TF_LoadLibrary
// (native/tf_graph.cc loadOpLibrary; src/train/fused-ops.ts):
//
//   MnistLabApplyRMSProp: TensorFlow's ResourceApplyRMSProp, the same inputs
//   and the same arithmetic in the same order,
//     ms  += (grad^2 - ms) * (1 - rho)
//     mom  = mom * momentum + (grad * lr) / sqrt(ms + epsilon)
//     var -= mom
//   as one pass over the four arrays instead of three.
//
//   MnistLabDropoutMask: the dropout mask graph.ts dropoutMask() builds from
//   five TensorFlow ops (StatelessRandomUniformFullInt int64 draws, bitcast
//   to 16-bit pieces, compare with round(rate * 65536), cast, scale), bit for
//   bit, as one op: the same Philox-4x32-10 stream (TensorFlow's own key
//   derivation and generator class), sixteen counters at a time so the
//   compiler can vectorise the rounds.
//
// Why: the stock CPU kernel is three Eigen expressions, each a pass over the
// weight, built for the baseline x86-64 instruction set; for S1-base's
// 784x512 kernel it took about 0.33 ms a step, the last thing a step does
// before the next one can start (bench/README.md, "Profiling the graph
// step"). One pass with AVX2 where the CPU has it does the same work in a
// fraction of that. Floating-point contraction is off (-ffp-contract=off),
// so each element gets exactly the stock kernel's rounding steps.
//
// Built by scripts/setup.mjs against the tensorflow-cpu wheel's headers and
// libtensorflow_framework, the runtime tfjs-node loads.
#define EIGEN_USE_THREADS  // the kernel splits its work over TensorFlow's intra-op thread pool

#include <cmath>
#include <cstdint>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/kernels/stateless_random_ops.h"
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

// Elements [begin, end) of one update: a plain loop the compiler vectorises,
// inlined into a baseline and an AVX2 copy (picked at run time). With
// momentum 0 (Keras's default) `mom * momentum` is 0 and `mom` is neither
// read nor written: the update is bound by memory traffic, and that is two
// of the seven array passes. Keras keeps that slot at zero anyway.
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

__attribute__((target("avx2"))) void UpdateRangeAvx2(float* var, float* ms, float* mom, const float* grad, RMSPropScalars s, int64_t begin, int64_t end) {
  if (s.momentum == 0.0f) {
    UpdateRange<false>(var, ms, mom, grad, s, begin, end);
  } else {
    UpdateRange<true>(var, ms, mom, grad, s, begin, end);
  }
}

void UpdateRangeBaseline(float* var, float* ms, float* mom, const float* grad, RMSPropScalars s, int64_t begin, int64_t end) {
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
    avx2_ = __builtin_cpu_supports("avx2");
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
    const bool avx2 = avx2_;
    const auto update = [=](int64_t begin, int64_t end) {
      if (avx2) {
        UpdateRangeAvx2(v, m, p, g, s, begin, end);
      } else {
        UpdateRangeBaseline(v, m, p, g, s, begin, end);
      }
    };
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
  bool avx2_ = false;
};

REGISTER_KERNEL_BUILDER(Name("MnistLabApplyRMSProp").Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("T"), ApplyRMSPropOp);

REGISTER_OP("MnistLabDropoutMask")
    .Input("rows: int32")
    .Input("seed: int32")
    .Output("mask: float")
    .Attr("units: int >= 1")
    .Attr("threshold: int >= 0")
    .Attr("scale: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      int64_t units;
      TF_RETURN_IF_ERROR(c->GetAttr("units", &units));
      c->set_output(0, c->Matrix(c->UnknownDim(), units));
      return absl::OkStatus();
    })
    .Doc("Inverted dropout's mask [rows, units] from 16 random bits per unit (mnist-lab, native/fused_ops.cc).");

// Philox-4x32-10 on `kLanes` consecutive counters at once: the arithmetic of
// tsl::random::PhiloxRandom::operator(), written over arrays so that the
// compiler vectorises it. Writes 4 words per counter to `out`.
constexpr int kLanes = 16;
using PhiloxKey = tsl::random::PhiloxRandom::Key;
using PhiloxCounter = tsl::random::PhiloxRandom::ResultType;

__attribute__((always_inline)) inline void PhiloxLanes(const PhiloxCounter& base, uint64_t first, const PhiloxKey& key, uint32_t* out) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int lane = 0; lane < kLanes; lane++) {
    // The counter skipped `first + lane` times (PhiloxRandom::Skip).
    const uint64_t count = first + lane;
    const uint32_t count_lo = static_cast<uint32_t>(count);
    uint32_t count_hi = static_cast<uint32_t>(count >> 32);
    uint32_t w0 = base[0] + count_lo;
    if (w0 < count_lo) ++count_hi;
    uint32_t w1 = base[1] + count_hi;
    uint32_t w2 = base[2];
    uint32_t w3 = base[3];
    if (w1 < count_hi && ++w2 == 0) ++w3;
    c0[lane] = w0;
    c1[lane] = w1;
    c2[lane] = w2;
    c3[lane] = w3;
  }
  // The key of each round (PhiloxRandom::RaiseKey).
  uint32_t k0[10], k1[10];
  for (int round = 0; round < 10; round++) {
    k0[round] = key[0] + round * 0x9E3779B9u;
    k1[round] = key[1] + round * 0xBB67AE85u;
  }
  // Lanes outside, the ten rounds inside (unrolled), so the lane loop is the one vectorised.
  for (int lane = 0; lane < kLanes; lane++) {
    uint32_t x0 = c0[lane], x1 = c1[lane], x2 = c2[lane], x3 = c3[lane];
#pragma GCC unroll 10
    for (int round = 0; round < 10; round++) {
      // PhiloxRandom::ComputeSingleRound.
      const uint64_t product0 = static_cast<uint64_t>(0xD2511F53u) * x0;
      const uint64_t product1 = static_cast<uint64_t>(0xCD9E8D57u) * x2;
      const uint32_t n0 = static_cast<uint32_t>(product1 >> 32) ^ x1 ^ k0[round];
      const uint32_t n2 = static_cast<uint32_t>(product0 >> 32) ^ x3 ^ k1[round];
      x1 = static_cast<uint32_t>(product1);
      x3 = static_cast<uint32_t>(product0);
      x0 = n0;
      x2 = n2;
    }
    c0[lane] = x0;
    c1[lane] = x1;
    c2[lane] = x2;
    c3[lane] = x3;
  }
  for (int lane = 0; lane < kLanes; lane++) {
    out[4 * lane] = c0[lane];
    out[4 * lane + 1] = c1[lane];
    out[4 * lane + 2] = c2[lane];
    out[4 * lane + 3] = c3[lane];
  }
}

__attribute__((target("avx2"))) void PhiloxStreamAvx2(const PhiloxCounter& base, const PhiloxKey& key, uint64_t groups, uint32_t* out) {
  for (uint64_t first = 0; first < groups; first += kLanes) PhiloxLanes(base, first, key, out + 4 * first);
}

void PhiloxStreamBaseline(const PhiloxCounter& base, const PhiloxKey& key, uint64_t groups, uint32_t* out) {
  for (uint64_t first = 0; first < groups; first += kLanes) PhiloxLanes(base, first, key, out + 4 * first);
}

class DropoutMaskOp : public OpKernel {
 public:
  explicit DropoutMaskOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("units", &units_));
    OP_REQUIRES_OK(context, context->GetAttr("threshold", &threshold_));
    OP_REQUIRES_OK(context, context->GetAttr("scale", &scale_));
    avx2_ = __builtin_cpu_supports("avx2");
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& rows_t = ctx->input(0);
    OP_REQUIRES(ctx, tensorflow::TensorShapeUtils::IsScalar(rows_t.shape()), absl::InvalidArgumentError("MnistLabDropoutMask: rows must be a scalar"));
    const int64_t rows = rows_t.scalar<int32_t>()();
    OP_REQUIRES(ctx, rows >= 0, absl::InvalidArgumentError("MnistLabDropoutMask: rows must be >= 0"));
    PhiloxKey key;
    PhiloxCounter counter;
    OP_REQUIRES_OK(ctx, tensorflow::GenerateKey(ctx->input(1), &key, &counter));
    Tensor* mask = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({rows, units_}), &mask));
    // graph.ts draws ceil(units / 4) int64 per row: four 16-bit pieces each, two per 32-bit word of the Philox stream.
    const int64_t wordsPerRow = 2 * ((units_ + 3) / 4);
    const int64_t words = rows * wordsPerRow;
    const uint64_t groups = static_cast<uint64_t>((words + 3) / 4);
    std::vector<uint32_t> stream(4 * (groups + kLanes));
    if (avx2_) {
      PhiloxStreamAvx2(counter, key, groups, stream.data());
    } else {
      PhiloxStreamBaseline(counter, key, groups, stream.data());
    }
    float* out = mask->flat<float>().data();
    const uint32_t threshold = static_cast<uint32_t>(threshold_);
    for (int64_t row = 0; row < rows; row++) {
      const uint32_t* words_of_row = stream.data() + row * wordsPerRow;
      float* out_row = out + row * units_;
      for (int64_t unit = 0; unit < units_; unit++) {
        // Little-endian bitcast: the low half of a word comes first.
        const uint32_t bits = (words_of_row[unit >> 1] >> (16 * (unit & 1))) & 0xFFFFu;
        out_row[unit] = bits >= threshold ? scale_ : 0.0f;
      }
    }
  }

 private:
  int64_t units_ = 1;
  int64_t threshold_ = 0;
  float scale_ = 1.0f;
  bool avx2_ = false;
};

REGISTER_KERNEL_BUILDER(Name("MnistLabDropoutMask").Device(tensorflow::DEVICE_CPU), DropoutMaskOp);

}  // namespace mnist_lab
