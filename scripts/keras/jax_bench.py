"""JAX peer of `npm run bench -- --peers jax`: the same networks, data,
optimizer rules, batch size and validation as scripts/keras/bench.py, trained
in JAX two ways, and one JSON object printed.

    .venv/bin/python scripts/keras/jax_bench.py --config S1-base --variant scan

Variants:
  step  one jitted training step per batch (the usual JAX loop)
  scan  the epoch's full batches as one jitted `lax.scan` (one call per epoch;
        a last partial batch, if any, goes through the jitted step)

Keras semantics: the last `validationSplit` of the training arrays held out
before shuffling, a new shuffle every epoch, the last partial batch kept,
Glorot-uniform kernels and zero biases, dropout as inverted dropout,
RMSprop (rho 0.9, eps 1e-7 outside the square root, lr 0.001) or Adam
(eps 1e-7), categorical cross-entropy on a softmax, validation after every
epoch. Epoch time = training + validation, wall clock, as the other engines
count it; the first (warm-up) epochs pay for compilation and are reported apart.
The networks come from bench.py's CONFIGS, so the two peers cannot drift apart.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_common  # noqa: E402
from bench import CONFIGS  # noqa: E402  (bench.py imports keras only inside main)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="S1-base", choices=sorted(name for name, spec in CONFIGS.items() if "augment" not in spec))
    parser.add_argument("--variant", default="step", choices=["step", "scan"])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs, after the warm-up epochs")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (reported apart)")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training examples")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def build(jax, jnp, model, key):
    """Parameters (Glorot uniform kernels, zero biases) and the forward pass of an MlpConfig or CnnConfig."""
    rate = model["dropoutRate"]

    def glorot(key, shape, fan_in, fan_out):
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        return jax.random.uniform(key, shape, jnp.float32, -limit, limit)

    def dropout(x, key, training):
        if not training or rate == 0:
            return x
        keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
        return jnp.where(keep, x / (1.0 - rate), 0.0)

    params = []
    if model.get("architecture") == "cnn":
        size, channels = model["inputShape"][0], model["inputShape"][2]
        k, pool = model["kernelSize"], model["poolSize"]
        for filters in model["filters"]:
            key, sub = jax.random.split(key)
            params.append((glorot(sub, (k, k, channels, filters), k * k * channels, k * k * filters), jnp.zeros(filters)))
            size = (size - k) // model["strides"] + 1
            size = size // pool if pool > 0 else size
            channels = filters
        widths = [size * size * channels, *model["denseUnits"], model["numClasses"]]
    else:
        widths = [model["inputShape"][0] * model["inputShape"][1], *model["hiddenUnits"], model["numClasses"]]
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        key, sub = jax.random.split(key)
        params.append((glorot(sub, (fan_in, fan_out), fan_in, fan_out), jnp.zeros(fan_out)))

    def forward(params, images, key, training):
        """Logits of a batch of flat images."""
        x = images
        index = 0
        keys = jax.random.split(key, len(params) + 1)
        if model.get("architecture") == "cnn":
            x = x.reshape((-1, *model["inputShape"]))
            for _ in model["filters"]:
                kernel, bias = params[index]
                x = jax.lax.conv_general_dilated(x, kernel, (model["strides"],) * 2, model["padding"].upper(), dimension_numbers=("NHWC", "HWIO", "NHWC"))
                x = jax.nn.relu(x + bias)
                if model["poolSize"] > 0:
                    p = model["poolSize"]
                    x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, p, p, 1), (1, p, p, 1), "VALID")
                index += 1
            x = dropout(x.reshape((x.shape[0], -1)), keys[index], training)
        for kernel, bias in params[index:-1]:
            index += 1
            x = dropout(jax.nn.relu(x @ kernel + bias), keys[index], training)
        kernel, bias = params[-1]
        return x @ kernel + bias

    return params, forward


def main():
    args = parse_args()
    if args.epochs < 1:
        keras_common.fail("--epochs must be at least 1")
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    spec = CONFIGS[args.config]
    model = spec["model"]
    batch_size = spec["batchSize"]
    (train_images, train_labels), (test_images, test_labels) = keras_common.load_dataset("mnist")
    if args.train_limit:
        train_images, train_labels = train_images[: args.train_limit], train_labels[: args.train_limit]
    images, targets = keras_common.prepare(train_images, train_labels, True, "categorical_crossentropy", 10)
    test_x, test_y = keras_common.prepare(test_images, test_labels, True, "categorical_crossentropy", 10)
    split_at = int(len(images) * (1 - spec["validationSplit"])) if spec["validationSplit"] else len(images)
    train_x, train_y = jnp.asarray(images[:split_at]), jnp.asarray(targets[:split_at])
    val_x, val_y = (jnp.asarray(images[split_at:]), jnp.asarray(targets[split_at:])) if split_at < len(images) else (None, None)

    key = jax.random.PRNGKey(args.seed)
    key, init_key = jax.random.split(key)
    params, forward = build(jax, jnp, model, init_key)
    if model["optimizer"] == "adam":
        optimizer = optax.adam(0.001, b1=0.9, b2=0.999, eps=1e-7)
    else:
        # Keras RMSprop: v = rho v + (1 - rho) g^2; w -= lr g / (sqrt(v) + eps).
        optimizer = optax.rmsprop(0.001, decay=0.9, eps=1e-7, eps_in_sqrt=False)
    opt_state = optimizer.init(params)

    def loss_and_correct(params, x, y, key, training):
        logits = forward(params, x, key, training)
        loss = -jnp.sum(y * jax.nn.log_softmax(logits))
        correct = jnp.sum(jnp.argmax(logits, -1) == jnp.argmax(y, -1))
        return loss, correct

    def step(carry, batch):
        params, opt_state, key = carry
        x, y = batch
        key, sub = jax.random.split(key)
        (loss, correct), grads = jax.value_and_grad(lambda p: (lambda l, c: (l / x.shape[0], c))(*loss_and_correct(p, x, y, sub, True)), has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, key), (loss * x.shape[0], correct)

    jit_step = jax.jit(step)

    @jax.jit
    def scan_epoch(carry, xs, ys):
        return jax.lax.scan(step, carry, (xs, ys))

    @jax.jit
    def evaluate_batch(params, x, y):
        return loss_and_correct(params, x, y, jax.random.PRNGKey(0), False)

    def evaluate(params, x, y):
        # Keras evaluates in batches (of batch_size for validation); the sums are the same.
        loss, correct = 0.0, 0
        for start in range(0, len(x), 1024):
            batch_loss, batch_correct = evaluate_batch(params, x[start : start + 1024], y[start : start + 1024])
            loss, correct = loss + float(batch_loss), correct + int(batch_correct)
        return loss / len(x), correct / len(x)

    shuffle = np.random.default_rng(args.seed)
    full = split_at // batch_size
    seconds, cpu_seconds, history = [], [], []
    carry = (params, opt_state, key)
    for _ in range(args.warmup + args.epochs):
        started, cpu_started = time.perf_counter(), time.process_time()
        order = jnp.asarray(shuffle.permutation(split_at))
        xs, ys = train_x[order], train_y[order]
        loss_sum, correct = 0.0, 0
        if args.variant == "scan" and full > 0:
            carry, (losses, corrects) = scan_epoch(carry, xs[: full * batch_size].reshape(full, batch_size, -1), ys[: full * batch_size].reshape(full, batch_size, -1))
            loss_sum, correct = float(jnp.sum(losses)), int(jnp.sum(corrects))
            starts = [full * batch_size] if full * batch_size < split_at else []
        else:
            starts = range(0, split_at, batch_size)
        for start in starts:
            carry, (batch_loss, batch_correct) = jit_step(carry, (xs[start : start + batch_size], ys[start : start + batch_size]))
            loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
        record = {"loss": float(loss_sum) / split_at, "acc": int(correct) / split_at}
        if val_x is not None:
            record["val_loss"], record["val_acc"] = evaluate(carry[0], val_x, val_y)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
        history.append(record)

    test_loss, test_acc = evaluate(carry[0], jnp.asarray(test_x), jnp.asarray(test_y))
    timed = seconds[args.warmup :]
    median = statistics.median(timed)
    print(
        json.dumps(
            {
                "engine": f"jax-{args.variant}",
                "config": args.config,
                "backend": f"jax {jax.__version__} cpu (optax {optax.__version__})",
                "batchSize": batch_size,
                "trainSamples": split_at,
                "validationSamples": len(images) - split_at,
                "warmupEpochs": args.warmup,
                "firstEpochSeconds": seconds[0] if args.warmup else None,
                "epochSeconds": timed,
                "medianEpochSeconds": median,
                "samplesPerSecond": split_at / median,
                "medianCpuSecondsPerEpoch": statistics.median(cpu_seconds[args.warmup :]),
                "peakRssMb": keras_common.peak_rss_mb(),
                "testAcc": test_acc,
                "testLoss": test_loss,
                "finalTrainAcc": history[-1]["acc"],
                "finalValAcc": history[-1].get("val_acc"),
                "python": platform.python_version(),
                "loadAverage": list(os.getloadavg()),
            }
        )
    )


if __name__ == "__main__":
    main()
