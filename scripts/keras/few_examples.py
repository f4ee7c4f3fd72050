"""Keras side of the few-examples experiment (`npm run few-examples`): train
the S1-base network on the first N MNIST training images, with and without
Keras 3's augmentation layers (RandomRotation, RandomTranslation,
RandomZoom, fill 0), and print one JSON line per run.

    .venv/bin/python scripts/keras/few_examples.py \
        --train-limit 1000 --epochs 30 --seeds 1,2,3 --rotation-range 10 \
        --width-shift-range 0.1 --height-shift-range 0.1 --zoom-range 0.1

Train accuracy is measured on the un-augmented training images after the
last epoch, so the overfitting gap (train - test) compares like with like.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_common  # noqa: E402

MODEL = {
    "inputShape": [28, 28],
    "activation": "relu",
    "numClasses": 10,
    "optimizer": "rmsprop",
    "optimizerOptions": {},
    "loss": "categorical_crossentropy",
    "hiddenUnits": [512, 512],
    "dropoutRate": 0.2,
}


def augmentation_layers(keras, args):
    """Keras 3's layers with ImageDataGenerator's parameter meanings (degrees, fractions)."""
    layers = []
    if args.rotation_range:
        layers.append(keras.layers.RandomRotation(args.rotation_range / 360.0, fill_mode="constant", fill_value=0.0, seed=args.seed))
    if args.width_shift_range or args.height_shift_range:
        layers.append(keras.layers.RandomTranslation(args.height_shift_range, args.width_shift_range, fill_mode="constant", fill_value=0.0, seed=args.seed))
    if args.zoom_range:
        layers.append(keras.layers.RandomZoom(args.zoom_range, fill_mode="constant", fill_value=0.0, seed=args.seed))
    return layers


def build(keras, args, seed, augment):
    """S1-base (build_mlp's network) with the augmentation layers in front when asked."""
    base = keras_common.build_mlp(keras, {**MODEL, "seed": seed})
    if not augment:
        return base
    layers = [keras.Input(shape=(28, 28)), keras.layers.Reshape((28, 28, 1)), *augmentation_layers(keras, args), keras.layers.Reshape((28, 28))]
    model = keras.Sequential(layers + list(base.layers))
    model.compile(optimizer=keras_common.make_optimizer(keras, "rmsprop", {}), loss=MODEL["loss"], metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-limit", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--rotation-range", type=float, default=10.0)
    parser.add_argument("--width-shift-range", type=float, default=0.1)
    parser.add_argument("--height-shift-range", type=float, default=0.1)
    parser.add_argument("--zoom-range", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0, help="(set per run)")
    parser.add_argument("--augment", choices=["both", "on", "off"], default="both")
    args = parser.parse_args()
    keras_common.quiet_tensorflow()
    import keras

    (train_images, train_labels), (test_images, test_labels) = keras_common.load_dataset("mnist")
    train_images, train_labels = train_images[: args.train_limit], train_labels[: args.train_limit]
    x, y = keras_common.prepare(train_images, train_labels, True, MODEL["loss"], 10)
    test_x, test_y = keras_common.prepare(test_images, test_labels, True, MODEL["loss"], 10)
    x, test_x = x.reshape(-1, 28, 28), test_x.reshape(-1, 28, 28)
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.augment]
    for augment in modes:
        for seed in [int(s) for s in args.seeds.split(",")]:
            args.seed = seed
            model = build(keras, args, seed, augment)
            started = time.perf_counter()
            model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0)
            seconds = time.perf_counter() - started
            _, train_acc = model.evaluate(x, y, batch_size=1024, verbose=0)
            test_loss, test_acc = model.evaluate(test_x, test_y, batch_size=1024, verbose=0)
            print(json.dumps({"engine": "keras", "augment": augment, "seed": seed, "trainAcc": float(train_acc), "testAcc": float(test_acc),
                              "testLoss": float(test_loss), "gap": float(train_acc - test_acc), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
