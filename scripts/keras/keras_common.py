"""Shared by bench.py and run_experiment.py: read the IDX files the TypeScript
side reads (same bytes, same order) and build the same networks in Keras 3.

Imported as a sibling module, so the scripts run as
`.venv/bin/python scripts/keras/<script>.py` from anywhere.
"""
import gzip
import os
import resource
import sys

import numpy as np

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def fail(message):
    """Exit with one readable line on stderr (the node driver shows it)."""
    print(f"keras: {message}", file=sys.stderr)
    sys.exit(2)


def read_idx(path, expected_magic):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        payload = handle.read()
    magic = int.from_bytes(payload[0:4], "big")
    if magic != expected_magic:
        fail(f"{path}: not an IDX file of this kind (magic {magic}, expected {expected_magic})")
    rank = payload[3]
    shape = [int.from_bytes(payload[4 + 4 * axis: 8 + 4 * axis], "big") for axis in range(rank)]
    return np.frombuffer(payload, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


# The lab's own data folder (what `npx mnist-lab data add` and the downloader fill), used when MNIST_LAB_DATA is unset.
PROJECT_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "data")


def data_dir(dataset):
    root = os.environ.get("MNIST_LAB_DATA")
    if not root:
        folder = os.path.join(PROJECT_DATA, dataset)
        if all(os.path.exists(os.path.join(folder, name)) for name in FILE_NAMES.values()):
            return folder
        fail(f"no {dataset} data in {PROJECT_DATA}: run `npx mnist-lab data add <folder with the IDX files>` once, or set MNIST_LAB_DATA to the folder that holds {dataset}/")
    folder = os.path.join(root, dataset)
    if not os.path.isdir(folder):
        fail(f"{folder} does not exist; MNIST_LAB_DATA must hold a {dataset}/ folder with the four IDX files")
    return folder


def load_dataset(dataset="mnist"):
    """Keras `load_data()` from the project's IDX files: uint8 arrays."""
    folder = data_dir(dataset)
    files = {role: os.path.join(folder, name) for role, name in FILE_NAMES.items()}
    return (
        (read_idx(files["train_images"], IDX_IMAGES_MAGIC), read_idx(files["train_labels"], IDX_LABELS_MAGIC)),
        (read_idx(files["test_images"], IDX_IMAGES_MAGIC), read_idx(files["test_labels"], IDX_LABELS_MAGIC)),
    )


def prepare(images, labels, scale_inputs, loss, num_classes):
    """Flatten, optionally scale by 255, one-hot for categorical loss (float32 throughout)."""
    features = images.reshape(images.shape[0], -1).astype("float32")
    if scale_inputs:
        features /= 255.0
    if loss == "categorical_crossentropy":
        targets = np.eye(num_classes, dtype="float32")[labels]
    else:
        targets = labels.astype("int32")
    return features, targets


def make_optimizer(keras, name, options):
    """Keras defaults, overridden by the project's optimizerOptions (camelCase)."""
    kwargs = {}
    if "learningRate" in options:
        kwargs["learning_rate"] = options["learningRate"]
    if "epsilon" in options:
        kwargs["epsilon"] = options["epsilon"]
    if name == "rmsprop":
        if "rho" in options:
            kwargs["rho"] = options["rho"]
        return keras.optimizers.RMSprop(**kwargs)
    if name == "adam":
        if "beta1" in options:
            kwargs["beta_1"] = options["beta1"]
        if "beta2" in options:
            kwargs["beta_2"] = options["beta2"]
        return keras.optimizers.Adam(**kwargs)
    if name == "sgd":
        kwargs.pop("epsilon", None)
        if "momentum" in options:
            kwargs["momentum"] = options["momentum"]
        return keras.optimizers.SGD(**kwargs)
    fail(f"unknown optimizer '{name}' (allowed: rmsprop, adam, sgd)")
    return None


def build_mlp(keras, model_config):
    """The project's MlpConfig as a Keras Sequential: Flatten, [Dense, Dropout]*, Dense softmax."""
    keras.utils.set_random_seed(int(model_config.get("seed", 42)))
    layers = [keras.Input(shape=tuple(model_config["inputShape"])), keras.layers.Flatten()]
    for units in model_config["hiddenUnits"]:
        layers.append(keras.layers.Dense(units, activation=model_config["activation"]))
        if model_config["dropoutRate"] > 0:
            layers.append(keras.layers.Dropout(model_config["dropoutRate"]))
    layers.append(keras.layers.Dense(model_config["numClasses"], activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=make_optimizer(keras, model_config["optimizer"], model_config.get("optimizerOptions", {})),
        loss=model_config["loss"],
        metrics=["accuracy"],
    )
    return model


def build_cnn(keras, model_config):
    """The project's CnnConfig (src/model/cnn.ts) as a Keras Sequential, the layers cnnLayers() lists:
    [Conv2D, MaxPooling2D]*, Flatten, Dropout, [Dense, Dropout]*, Dense softmax."""
    keras.utils.set_random_seed(int(model_config.get("seed", 42)))
    rate = model_config["dropoutRate"]
    layers = [keras.Input(shape=tuple(model_config["inputShape"]))]
    for filters in model_config["filters"]:
        layers.append(
            keras.layers.Conv2D(
                filters,
                kernel_size=model_config["kernelSize"],
                strides=model_config["strides"],
                padding=model_config["padding"],
                activation=model_config["activation"],
            )
        )
        if model_config["poolSize"] > 0:
            layers.append(keras.layers.MaxPooling2D(pool_size=model_config["poolSize"]))
    layers.append(keras.layers.Flatten())
    if rate > 0:
        layers.append(keras.layers.Dropout(rate))
    for units in model_config["denseUnits"]:
        layers.append(keras.layers.Dense(units, activation=model_config["activation"]))
        if rate > 0:
            layers.append(keras.layers.Dropout(rate))
    layers.append(keras.layers.Dense(model_config["numClasses"], activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=make_optimizer(keras, model_config["optimizer"], model_config.get("optimizerOptions", {})),
        loss=model_config["loss"],
        metrics=["accuracy"],
    )
    return model


def build_model(keras, model_config):
    """An MlpConfig or a CnnConfig (architecture 'cnn') as a compiled Keras model."""
    if model_config.get("architecture") == "cnn":
        return build_cnn(keras, model_config)
    return build_mlp(keras, model_config)


def peak_rss_mb():
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
