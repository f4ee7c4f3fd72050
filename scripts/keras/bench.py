"""Keras side of `npm run bench`: time the benchmark's networks (S0, S1-base, ..., convnet) in Keras 3 on
TensorFlow CPU, on the project's own IDX files, and print one JSON object.

    .venv/bin/python scripts/keras/bench.py --config S1-base --epochs 5

The first (warm-up) epoch pays for graph tracing and is reported apart; the
median of the timed epochs is the number to compare. Accuracy on the test
set after all epochs shows that the timed loop also learned.
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

# The networks of ../shared/reference/seed-experiments.md, as MlpConfig objects
# (src/model/config.ts field names) plus the fit settings the benchmark uses.
BASE_MODEL = {
    "inputShape": [28, 28],
    "activation": "relu",
    "numClasses": 10,
    "optimizer": "rmsprop",
    "optimizerOptions": {},
    "loss": "categorical_crossentropy",
}
CONFIGS = {
    "S0": {"model": {**BASE_MODEL, "hiddenUnits": [512], "dropoutRate": 0.0}, "batchSize": 128, "validationSplit": 0.0},
    "S1-base": {"model": {**BASE_MODEL, "hiddenUnits": [512, 512], "dropoutRate": 0.2}, "batchSize": 128, "validationSplit": 0.2},
    # How cost grows: S1-base with 2048 hidden units per layer, and at batch sizes 32 and 512.
    "S1-h2048": {"model": {**BASE_MODEL, "hiddenUnits": [2048, 2048], "dropoutRate": 0.2}, "batchSize": 128, "validationSplit": 0.2},
    "S1-b32": {"model": {**BASE_MODEL, "hiddenUnits": [512, 512], "dropoutRate": 0.2}, "batchSize": 32, "validationSplit": 0.2},
    "S1-b512": {"model": {**BASE_MODEL, "hiddenUnits": [512, 512], "dropoutRate": 0.2}, "batchSize": 512, "validationSplit": 0.2},
    # S1-base behind Keras 3's RandomRotation(10/360), RandomTranslation(0.1, 0.1), RandomZoom(0.1), fill 0.
    "S1-base-augment": {"model": {**BASE_MODEL, "hiddenUnits": [512, 512], "dropoutRate": 0.2}, "batchSize": 128, "validationSplit": 0.2,
                        "augment": {"rotation_range": 10.0, "width_shift_range": 0.1, "height_shift_range": 0.1, "zoom_range": 0.1}},
    # keras.io "Simple MNIST convnet" (DEFAULT_CNN in src/model/cnn.ts).
    "convnet": {
        "model": {
            **BASE_MODEL,
            "architecture": "cnn",
            "inputShape": [28, 28, 1],
            "filters": [32, 64],
            "kernelSize": 3,
            "strides": 1,
            "padding": "valid",
            "poolSize": 2,
            "denseUnits": [],
            "dropoutRate": 0.5,
            "optimizer": "adam",
        },
        "batchSize": 128,
        "validationSplit": 0.1,
    },
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="S1-base", choices=sorted(CONFIGS))
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs, after the warm-up epoch")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (reported apart)")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training examples")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


class EpochTimer:
    """Wall-clock seconds per epoch, validation included (as the TS side counts)."""

    def __init__(self, keras):
        timer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                timer.started = time.perf_counter()
                timer.cpu_started = time.process_time()

            def on_epoch_end(self, epoch, logs=None):
                timer.seconds.append(time.perf_counter() - timer.started)
                timer.cpu_seconds.append(time.process_time() - timer.cpu_started)

        self.seconds = []
        self.cpu_seconds = []
        self.started = 0.0
        self.cpu_started = 0.0
        self.callback = Callback()


def main():
    args = parse_args()
    if args.epochs < 1:
        keras_common.fail("--epochs must be at least 1")
    keras_common.quiet_tensorflow()
    import keras
    import tensorflow as tf

    spec = CONFIGS[args.config]
    model_config = {**spec["model"], "seed": args.seed}
    (train_images, train_labels), (test_images, test_labels) = keras_common.load_dataset("mnist")
    if args.train_limit:
        train_images, train_labels = train_images[: args.train_limit], train_labels[: args.train_limit]
    shape = (-1, *model_config["inputShape"])
    images, targets = keras_common.prepare(train_images, train_labels, True, model_config["loss"], 10)
    test_x, test_y = keras_common.prepare(test_images, test_labels, True, model_config["loss"], 10)
    images, test_x = images.reshape(shape), test_x.reshape(shape)

    if "augment" in spec:
        import types
        import few_examples
        model = few_examples.build(keras, types.SimpleNamespace(seed=args.seed, **spec["augment"]), args.seed, True)
    else:
        model = keras_common.build_model(keras, model_config)
    timer = EpochTimer(keras)
    total_epochs = args.warmup + args.epochs
    history = model.fit(
        images,
        targets,
        batch_size=spec["batchSize"],
        epochs=total_epochs,
        validation_split=spec["validationSplit"],
        shuffle=True,
        verbose=0,
        callbacks=[timer.callback],
    )
    test_loss, test_acc = model.evaluate(test_x, test_y, batch_size=1024, verbose=0)

    train_samples = int(len(images) * (1 - spec["validationSplit"])) if spec["validationSplit"] else len(images)
    timed = timer.seconds[args.warmup:]
    median = statistics.median(timed)
    result = {
        "engine": "keras",
        "config": args.config,
        "backend": f"tensorflow {tf.__version__} cpu",
        "kerasVersion": keras.__version__,
        "batchSize": spec["batchSize"],
        "trainSamples": train_samples,
        "validationSamples": len(images) - train_samples,
        "warmupEpochs": args.warmup,
        "firstEpochSeconds": timer.seconds[0] if args.warmup else None,
        "epochSeconds": timed,
        "medianEpochSeconds": median,
        "samplesPerSecond": train_samples / median,
        # CPU seconds of all threads: less sensitive to other processes' load than wall time.
        "medianCpuSecondsPerEpoch": statistics.median(timer.cpu_seconds[args.warmup:]),
        "peakRssMb": keras_common.peak_rss_mb(),
        "testAcc": float(test_acc),
        "testLoss": float(test_loss),
        "finalTrainAcc": float(history.history["accuracy"][-1]),
        "finalValAcc": float(history.history["val_accuracy"][-1]) if "val_accuracy" in history.history else None,
        "threads": {
            "intraOp": tf.config.threading.get_intra_op_parallelism_threads(),
            "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
            "cpus": os.cpu_count(),
        },
        "python": platform.python_version(),
        "loadAverage": list(os.getloadavg()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
