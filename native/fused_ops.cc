// Two TensorFlow ops of our own, loaded into the process with TF_LoadLibrary
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
#include <cstdlib>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <immintrin.h>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/kernels/image/image_ops.h"
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

REGISTER_OP("MnistLabDropoutMask")
    .Input("piece_rows: int32")
    .Input("seed: int32")
    .Output("mask: float")
    .Attr("units: int >= 1")
    .Attr("threshold: int >= 0")
    .Attr("scale: float")
    .Attr("piece: int >= 0 = 0")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      int64_t units;
      TF_RETURN_IF_ERROR(c->GetAttr("units", &units));
      c->set_output(0, c->Matrix(c->UnknownDim(), units));
      return absl::OkStatus();
    })
    .Doc(
        "Rows sum(piece_rows[:piece]) to sum(piece_rows[:piece + 1]) of inverted dropout's mask [rows, units] for the "
        "stateless seed, from 16 random bits per unit (mnist-lab, native/fused_ops.cc).");

// Philox-4x32-10 on `kLanes` consecutive counters at once: the arithmetic of
// tsl::random::PhiloxRandom::operator(), written as element-wise loops over
// the lanes (rounds outside) so that each loop is one vector operation.
// Writes 4 words per counter to `out`.
constexpr int kLanes = 16;
using PhiloxKey = tsl::random::PhiloxRandom::Key;
using PhiloxCounter = tsl::random::PhiloxRandom::ResultType;

// The words of counter `count` of the stream (PhiloxRandom::Skip from `base`).
__attribute__((always_inline)) inline void SkippedCounter(const PhiloxCounter& base, uint64_t count, uint32_t* words) {
  const uint32_t count_lo = static_cast<uint32_t>(count);
  uint32_t count_hi = static_cast<uint32_t>(count >> 32);
  words[0] = base[0] + count_lo;
  if (words[0] < count_lo) ++count_hi;
  words[1] = base[1] + count_hi;
  words[2] = base[2];
  words[3] = base[3];
  if (words[1] < count_hi && ++words[2] == 0) ++words[3];
}

__attribute__((always_inline)) inline void PhiloxLanes(const PhiloxCounter& base, uint64_t first, const PhiloxKey& key, uint32_t* out) {
  uint32_t x0[kLanes], x1[kLanes], x2[kLanes], x3[kLanes];
  for (int lane = 0; lane < kLanes; lane++) {
    uint32_t words[4];
    SkippedCounter(base, first + lane, words);
    x0[lane] = words[0];
    x1[lane] = words[1];
    x2[lane] = words[2];
    x3[lane] = words[3];
  }
  for (int round = 0; round < 10; round++) {
    // The key of this round (PhiloxRandom::RaiseKey), then PhiloxRandom::ComputeSingleRound on every lane.
    const uint32_t k0 = key[0] + round * 0x9E3779B9u;
    const uint32_t k1 = key[1] + round * 0xBB67AE85u;
    for (int lane = 0; lane < kLanes; lane++) {
      const uint64_t product0 = static_cast<uint64_t>(0xD2511F53u) * x0[lane];
      const uint64_t product1 = static_cast<uint64_t>(0xCD9E8D57u) * x2[lane];
      const uint32_t n0 = static_cast<uint32_t>(product1 >> 32) ^ x1[lane] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(product0 >> 32) ^ x3[lane] ^ k1;
      x1[lane] = static_cast<uint32_t>(product1);
      x3[lane] = static_cast<uint32_t>(product0);
      x0[lane] = n0;
      x2[lane] = n2;
    }
  }
  for (int lane = 0; lane < kLanes; lane++) {
    out[4 * lane] = x0[lane];
    out[4 * lane + 1] = x1[lane];
    out[4 * lane + 2] = x2[lane];
    out[4 * lane + 3] = x3[lane];
  }
}

// The high and low words of 16 lanes' 32x32-bit products: even lanes from one widening multiply, odd lanes from another.
__attribute__((target("avx512f"), always_inline)) inline void MultiplyLanes(__m512i x, __m512i multiplier, __m512i* hi, __m512i* lo) {
  constexpr __mmask16 kOdd = 0xAAAA;
  const __m512i even = _mm512_mul_epu32(x, multiplier);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), multiplier);
  *hi = _mm512_mask_blend_epi32(kOdd, _mm512_srli_epi64(even, 32), odd);
  *lo = _mm512_mask_blend_epi32(kOdd, even, _mm512_slli_epi64(odd, 32));
}

// The same stream with AVX-512 instructions written out: 16 counters per
// vector. The compiler does not vectorise the generic loops' 32x32->64-bit
// products well (about 8 ns a counter here); this takes about a fifth.
__attribute__((target("avx512f"))) void PhiloxStreamAvx512(const PhiloxCounter& base, const PhiloxKey& key, uint64_t first, uint64_t count, uint32_t* out) {
  const __m512i multiplier0 = _mm512_set1_epi64(0xD2511F53u);
  const __m512i multiplier1 = _mm512_set1_epi64(0xCD9E8D57u);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (uint64_t done = 0; done < count; done += kLanes) {
    uint32_t words[4];
    SkippedCounter(base, first + done, words);
    __m512i x0, x1, x2, x3;
    if (words[0] <= 0xFFFFFFFFu - (kLanes - 1)) {
      // No carry out of the low word within these 16 counters.
      x0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(words[0])), iota);
      x1 = _mm512_set1_epi32(static_cast<int>(words[1]));
      x2 = _mm512_set1_epi32(static_cast<int>(words[2]));
      x3 = _mm512_set1_epi32(static_cast<int>(words[3]));
    } else {
      alignas(64) uint32_t lanes[4][kLanes];
      for (int lane = 0; lane < kLanes; lane++) {
        SkippedCounter(base, first + done + lane, words);
        for (int word = 0; word < 4; word++) lanes[word][lane] = words[word];
      }
      x0 = _mm512_load_si512(lanes[0]);
      x1 = _mm512_load_si512(lanes[1]);
      x2 = _mm512_load_si512(lanes[2]);
      x3 = _mm512_load_si512(lanes[3]);
    }
    for (int round = 0; round < 10; round++) {
      // PhiloxRandom::RaiseKey and ComputeSingleRound.
      const __m512i k0 = _mm512_set1_epi32(static_cast<int>(key[0] + round * 0x9E3779B9u));
      const __m512i k1 = _mm512_set1_epi32(static_cast<int>(key[1] + round * 0xBB67AE85u));
      __m512i hi0, lo0, hi1, lo1;
      MultiplyLanes(x0, multiplier0, &hi0, &lo0);
      MultiplyLanes(x2, multiplier1, &hi1, &lo1);
      x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), k0);
      x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), k1);
      x1 = lo1;
      x3 = lo0;
    }
    // Transpose to counter order (4 words per counter): 128-bit lane L of u_k holds counter 4L + k.
    const __m512i t0 = _mm512_unpacklo_epi32(x0, x1), t1 = _mm512_unpackhi_epi32(x0, x1);
    const __m512i t2 = _mm512_unpacklo_epi32(x2, x3), t3 = _mm512_unpackhi_epi32(x2, x3);
    const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
    const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
    const __m512i a = _mm512_shuffle_i32x4(u0, u1, 0x44), b = _mm512_shuffle_i32x4(u2, u3, 0x44);
    const __m512i c = _mm512_shuffle_i32x4(u0, u1, 0xEE), d = _mm512_shuffle_i32x4(u2, u3, 0xEE);
    uint32_t* block = out + 4 * done;
    _mm512_storeu_si512(block, _mm512_shuffle_i32x4(a, b, 0x88));
    _mm512_storeu_si512(block + 16, _mm512_shuffle_i32x4(a, b, 0xDD));
    _mm512_storeu_si512(block + 32, _mm512_shuffle_i32x4(c, d, 0x88));
    _mm512_storeu_si512(block + 48, _mm512_shuffle_i32x4(c, d, 0xDD));
  }
}

// Counters first to first + count (rounded up to kLanes) of the stream, 4 words each, into `out`.
__attribute__((target_clones("avx2", "default"))) void PhiloxStreamGeneric(const PhiloxCounter& base, const PhiloxKey& key, uint64_t first, uint64_t count, uint32_t* out) {
  for (uint64_t done = 0; done < count; done += kLanes) PhiloxLanes(base, first + done, key, out + 4 * done);
}

void PhiloxStream(const PhiloxCounter& base, const PhiloxKey& key, uint64_t first, uint64_t count, uint32_t* out) {
  // MNIST_LAB_NO_AVX512 (any value) takes the generic loops, so tests check them on an AVX-512 machine too.
  static const bool avx512 = __builtin_cpu_supports("avx512f") && std::getenv("MNIST_LAB_NO_AVX512") == nullptr;
  if (avx512) {
    PhiloxStreamAvx512(base, key, first, count, out);
  } else {
    PhiloxStreamGeneric(base, key, first, count, out);
  }
}

// Words of 16-bit draws to mask values: low half first (a little-endian bitcast), kept where >= threshold.
__attribute__((target_clones("avx512f", "avx2", "default"))) void MaskFromWords(const uint32_t* words, int64_t units, uint32_t threshold, float scale, float* out) {
  const int64_t pairs = units / 2;
  for (int64_t pair = 0; pair < pairs; pair++) {
    const uint32_t word = words[pair];
    out[2 * pair] = (word & 0xFFFFu) >= threshold ? scale : 0.0f;
    out[2 * pair + 1] = (word >> 16) >= threshold ? scale : 0.0f;
  }
  if (units % 2 != 0) out[units - 1] = (words[pairs] & 0xFFFFu) >= threshold ? scale : 0.0f;
}

class DropoutMaskOp : public OpKernel {
 public:
  explicit DropoutMaskOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("units", &units_));
    OP_REQUIRES_OK(context, context->GetAttr("threshold", &threshold_));
    OP_REQUIRES_OK(context, context->GetAttr("scale", &scale_));
    OP_REQUIRES_OK(context, context->GetAttr("piece", &piece_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& piece_rows = ctx->input(0);
    OP_REQUIRES(ctx, tensorflow::TensorShapeUtils::IsVector(piece_rows.shape()) && piece_rows.NumElements() > piece_,
                absl::InvalidArgumentError("MnistLabDropoutMask: piece_rows must be a vector with an entry for piece " + std::to_string(piece_) + ", got shape " + piece_rows.shape().DebugString()));
    const auto sizes = piece_rows.flat<int32_t>();
    int64_t first_row = 0;
    for (int64_t index = 0; index < piece_; index++) first_row += sizes(index);
    const int64_t rows = sizes(piece_);
    OP_REQUIRES(ctx, rows >= 0 && first_row >= 0, absl::InvalidArgumentError("MnistLabDropoutMask: piece_rows must not be negative"));
    PhiloxKey key;
    PhiloxCounter counter;
    OP_REQUIRES_OK(ctx, tensorflow::GenerateKey(ctx->input(1), &key, &counter));
    Tensor* mask = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({rows, units_}), &mask));
    if (rows == 0) return;
    // graph.ts draws ceil(units / 4) int64 per row of the batch: four 16-bit pieces each, two per 32-bit word, four words per counter.
    const int64_t words_per_row = 2 * ((units_ + 3) / 4);
    const int64_t first_word = first_row * words_per_row;
    const uint64_t first_counter = static_cast<uint64_t>(first_word / 4);
    const int64_t skip = first_word % 4;
    const uint64_t counters = static_cast<uint64_t>((skip + rows * words_per_row + 3) / 4);
    // One buffer per thread, reused: the stream of a piece is tens of kilobytes.
    thread_local std::vector<uint32_t> stream;
    stream.resize(4 * (counters + kLanes));
    PhiloxStream(counter, key, first_counter, counters, stream.data());
    float* out = mask->flat<float>().data();
    const uint32_t threshold = static_cast<uint32_t>(threshold_);
    for (int64_t row = 0; row < rows; row++) MaskFromWords(stream.data() + skip + row * words_per_row, units_, threshold, scale_, out + row * units_);
  }

 private:
  int64_t units_ = 1;
  int64_t threshold_ = 0;
  float scale_ = 1.0f;
  int64_t piece_ = 0;
};

REGISTER_KERNEL_BUILDER(Name("MnistLabDropoutMask").Device(tensorflow::DEVICE_CPU), DropoutMaskOp);

REGISTER_OP("MnistLabAssignRows")
    .Input("var: resource")
    .Input("first_row: int32")
    .Input("value: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext*) { return absl::OkStatus(); })
    .Doc("Rows first_row to first_row + rows(value) - 1 of a float variable [rows, width] set to value, in place (mnist-lab, native/fused_ops.cc).");

class AssignRowsOp : public OpKernel {
 public:
  explicit AssignRowsOp(OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(OpKernelContext* ctx) override {
    tensorflow::core::RefCountPtr<tensorflow::Var> resource;
    OP_REQUIRES_OK(ctx, tensorflow::LookupResource(ctx, tensorflow::HandleFromInput(ctx, 0), &resource));
    tensorflow::mutex_lock lock(*resource->mu());
    Tensor* var = resource->tensor();
    const Tensor& first_row_t = ctx->input(1);
    const Tensor& value = ctx->input(2);
    OP_REQUIRES(ctx, var->IsInitialized() && var->dtype() == tensorflow::DT_FLOAT && var->dims() == 2,
                absl::FailedPreconditionError("MnistLabAssignRows: the variable must hold an initialized float matrix, it holds " + var->DebugString()));
    OP_REQUIRES(ctx, tensorflow::TensorShapeUtils::IsScalar(first_row_t.shape()), absl::InvalidArgumentError("MnistLabAssignRows: first_row must be a scalar"));
    const int64_t first_row = first_row_t.scalar<int32_t>()();
    OP_REQUIRES(ctx, value.dims() == 2 && value.dim_size(1) == var->dim_size(1) && first_row >= 0 && first_row + value.dim_size(0) <= var->dim_size(0),
                absl::InvalidArgumentError("MnistLabAssignRows: rows " + std::to_string(first_row) + " + " + value.shape().DebugString() + " do not fit the variable " + var->shape().DebugString()));
    // Nothing may be reading the buffer while it changes (the graph runs this before any step).
    OP_REQUIRES(ctx, var->RefCountIsOne() && !resource->copy_on_read_mode.load(),
                absl::FailedPreconditionError("MnistLabAssignRows: the variable is being read; assign its rows before anything reads it"));
    const int64_t width = var->dim_size(1);
    std::copy_n(value.flat<float>().data(), value.NumElements(), var->flat<float>().data() + first_row * width);
  }
};

REGISTER_KERNEL_BUILDER(Name("MnistLabAssignRows").Device(tensorflow::DEVICE_CPU), AssignRowsOp);

REGISTER_OP("MnistLabProjectiveTransform")
    .Input("images: float")
    .Input("transforms: float")
    .Input("output_shape: int32")
    .Input("fill_value: float")
    .Output("transformed_images: float")
    .Attr("interpolation: {'NEAREST', 'BILINEAR'}")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->UnknownShapeOfRank(4));
      return absl::OkStatus();
    })
    .Doc("ImageProjectiveTransformV3 with fill_mode CONSTANT, the same per-pixel arithmetic in a plain loop (mnist-lab, native/fused_ops.cc).");

class ProjectiveTransformOp : public OpKernel {
 public:
  explicit ProjectiveTransformOp(OpKernelConstruction* context) : OpKernel(context) {
    std::string interpolation;
    OP_REQUIRES_OK(context, context->GetAttr("interpolation", &interpolation));
    interpolation_ = interpolation == "NEAREST" ? tensorflow::generator::NEAREST : tensorflow::generator::BILINEAR;
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& images = ctx->input(0);
    const Tensor& transforms = ctx->input(1);
    const Tensor& output_shape = ctx->input(2);
    const Tensor& fill = ctx->input(3);
    OP_REQUIRES(ctx, images.dims() == 4, absl::InvalidArgumentError("MnistLabProjectiveTransform: images must be [batch, height, width, channels], got " + images.shape().DebugString()));
    const int64_t batch = images.dim_size(0);
    OP_REQUIRES(ctx, transforms.dims() == 2 && transforms.dim_size(1) == 8 && (transforms.dim_size(0) == batch || transforms.dim_size(0) == 1),
                absl::InvalidArgumentError("MnistLabProjectiveTransform: transforms must be [batch or 1, 8], got " + transforms.shape().DebugString()));
    OP_REQUIRES(ctx, output_shape.NumElements() == 2 && tensorflow::TensorShapeUtils::IsScalar(fill.shape()),
                absl::InvalidArgumentError("MnistLabProjectiveTransform: output_shape must be [height, width] and fill_value a scalar"));
    const int64_t height = output_shape.flat<int32_t>()(0);
    const int64_t width = output_shape.flat<int32_t>()(1);
    const int64_t channels = images.dim_size(3);
    Tensor* output = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({batch, height, width, channels}), &output));
    using Generator = tensorflow::generator::ProjectiveGenerator<CPUDevice, float, tensorflow::generator::Mode::FILL_CONSTANT>;
    const Generator generator(images.tensor<float, 4>(), transforms.matrix<float>(), interpolation_, fill.scalar<float>()());
    float* out = output->flat<float>().data();
    Eigen::array<Eigen::DenseIndex, 4> coords;
    for (coords[0] = 0; coords[0] < batch; coords[0]++)
      for (coords[1] = 0; coords[1] < height; coords[1]++)
        for (coords[2] = 0; coords[2] < width; coords[2]++)
          for (coords[3] = 0; coords[3] < channels; coords[3]++) *out++ = generator(coords);
  }

 private:
  tensorflow::generator::Interpolation interpolation_ = tensorflow::generator::BILINEAR;
};

REGISTER_KERNEL_BUILDER(Name("MnistLabProjectiveTransform").Device(tensorflow::DEVICE_CPU), ProjectiveTransformOp);

}  // namespace mnist_lab
