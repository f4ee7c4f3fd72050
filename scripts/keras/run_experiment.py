"""Run one ExperimentConfig (src/experiments/types.ts) in Keras 3 and print a
RunResult-like JSON object: the Keras column of the reproduction table.

    echo '<ExperimentConfig JSON>' | .venv/bin/python scripts/keras/run_experiment.py --seed 1
    .venv/bin/python scripts/keras/run_experiment.py --config experiment.json --seed 1

Keras semantics throughout: validation_split takes the last fraction before
shuffling; restoreBestWeights is ModelCheckpoint(save_best_only=True) on
val_loss followed by loading those weights before the test evaluation.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_common  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="ExperimentConfig JSON file (default: read stdin)")
    parser.add_argument("--seed", type=int, default=None, help="overrides model.seed and train.seed")
    return parser.parse_args()


def read_config(args):
    try:
        if args.config:
            with open(args.config, encoding="utf-8") as handle:
                return json.load(handle)
        return json.load(sys.stdin)
    except (OSError, json.JSONDecodeError) as error:
        keras_common.fail(f"could not read the ExperimentConfig JSON ({error}); pass --config FILE or pipe it on stdin")
    return None


def check_config(config):
    for field in ("id", "dataset", "model", "train"):
        if field not in config:
            keras_common.fail(f"ExperimentConfig has no '{field}' field; pass a full config (see src/experiments/types.ts)")
    cnn = config["model"].get("architecture") == "cnn"
    architecture_fields = ("filters", "kernelSize", "strides", "padding", "poolSize", "denseUnits") if cnn else ("hiddenUnits",)
    for field in ("inputShape", *architecture_fields, "activation", "dropoutRate", "numClasses", "optimizer", "loss"):
        if field not in config["model"]:
            kind = "CnnConfig (see src/model/cnn.ts)" if cnn else "MlpConfig (see src/model/config.ts)"
            keras_common.fail(f"model.{field} is missing; pass a full {kind}")
    for field in ("epochs", "batchSize"):
        if field not in config["train"]:
            keras_common.fail(f"train.{field} is missing; pass a full TrainConfig (see src/train/types.ts)")


class BestWeights:
    """Keras ModelCheckpoint(save_best_only=True, monitor='val_loss'), kept in memory."""

    def __init__(self, keras):
        outer = self
        self.best_loss = float("inf")
        self.best_epoch = None
        self.weights = None
        self.seconds = []
        self.started = 0.0

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.seconds.append(time.perf_counter() - outer.started)
                val_loss = (logs or {}).get("val_loss")
                if val_loss is not None and val_loss < outer.best_loss:
                    outer.best_loss = float(val_loss)
                    outer.best_epoch = epoch
                    outer.weights = self.model.get_weights()

        self.callback = Callback()


def main():
    args = parse_args()
    config = read_config(args)
    check_config(config)
    keras_common.quiet_tensorflow()
    import keras
    import tensorflow as tf

    model_config = dict(config["model"])
    train = dict(config["train"])
    if args.seed is not None:
        model_config["seed"] = args.seed
        train["seed"] = args.seed
    seed = int(train.get("seed", model_config.get("seed", 42)))

    (train_images, train_labels), (test_images, test_labels) = keras_common.load_dataset(config["dataset"])
    if config.get("trainLimit"):
        train_images, train_labels = train_images[: config["trainLimit"]], train_labels[: config["trainLimit"]]
    if config.get("testLimit"):
        test_images, test_labels = test_images[: config["testLimit"]], test_labels[: config["testLimit"]]
    scale = bool(config.get("scaleInputs", True))
    shape = (-1, *model_config["inputShape"])
    num_classes = model_config["numClasses"]
    images, targets = keras_common.prepare(train_images, train_labels, scale, model_config["loss"], num_classes)
    test_x, test_y = keras_common.prepare(test_images, test_labels, scale, model_config["loss"], num_classes)
    images, test_x = images.reshape(shape), test_x.reshape(shape)

    model = keras_common.build_model(keras, model_config)
    keras.utils.set_random_seed(seed)
    tracker = BestWeights(keras)
    fit_args = {
        "batch_size": train["batchSize"],
        "epochs": train["epochs"],
        "shuffle": bool(train.get("shuffle", True)),
        "verbose": 0,
        "callbacks": [tracker.callback],
    }
    if config.get("validateOnTest"):
        fit_args["validation_data"] = (test_x, test_y)
    elif train.get("validationSplit", 0) > 0:
        fit_args["validation_split"] = train["validationSplit"]
    started = time.perf_counter()
    keras_history = model.fit(images, targets, **fit_args).history
    total_seconds = time.perf_counter() - started

    if config.get("restoreBestWeights") and tracker.weights is not None:
        model.set_weights(tracker.weights)
    test_loss, test_acc = model.evaluate(test_x, test_y, batch_size=1024, verbose=0)

    history = {
        "loss": [float(v) for v in keras_history["loss"]],
        "acc": [float(v) for v in keras_history["accuracy"]],
        "seconds": tracker.seconds,
    }
    if "val_loss" in keras_history:
        history["val_loss"] = [float(v) for v in keras_history["val_loss"]]
        history["val_acc"] = [float(v) for v in keras_history["val_accuracy"]]
    best_epoch = tracker.best_epoch
    final_train_acc = history["acc"][-1]
    timed = tracker.seconds[1:] if len(tracker.seconds) > 1 else tracker.seconds
    result = {
        "id": config["id"],
        "seed": seed,
        "config": config,
        "history": {"epoch": list(range(len(history["loss"]))), "history": history},
        "test": {"loss": float(test_loss), "acc": float(test_acc)},
        "finalTrainAcc": final_train_acc,
        "bestEpoch": best_epoch,
        "bestValLoss": history["val_loss"][best_epoch] if best_epoch is not None else None,
        "bestValAcc": history["val_acc"][best_epoch] if best_epoch is not None else None,
        "overfitGap": final_train_acc - float(test_acc),
        "epochSeconds": statistics.median(timed),
        "totalSeconds": total_seconds,
        "backend": f"keras {keras.__version__} / tensorflow {tf.__version__} cpu",
        "runDir": None,
        "finishedAt": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
